/**
 * The meter's metrology: the paper's Table 1 repeated in simulation (firmware/host/characterise.c,
 * the full sweep) and the core's cost on a Cortex-M3 under QEMU (make -C firmware bench).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Figures } from './figures';

interface Table {
  readonly points: number;
  readonly windows: number;
  readonly vrms_pct: number;
  readonly irms_pct: number;
  readonly freq_mhz: number;
  readonly p_pct_of_s: number;
  readonly s_pct: number;
  readonly pf: number;
  readonly n_pct_of_s: number;
  readonly thdv_pp?: number;
  readonly thdi_pp?: number;
  readonly max: Record<string, number>;
}

interface Characterisation {
  readonly sinusoidal: Table;
  readonly nonsinusoidal: Table;
  readonly dips: {
    readonly events: number;
    readonly missed: number;
    readonly start_max_cycles: number;
    readonly duration_max_cycles: number;
    readonly residual_max_pct_udin: number;
  };
  readonly energy: { readonly seconds: number; readonly max_error_pct: number };
  readonly failures: number;
}

/** The paper's Table 1 (sinusoidal, non-sinusoidal); the goal is at most half of each. */
const TABLE_1: readonly (readonly [keyof Table, string, string, number, number])[] = [
  ['vrms_pct', 'Voltage (r.m.s.)', '%', 0.03, 0.04],
  ['irms_pct', 'Current (r.m.s.)', '%', 0.03, 0.04],
  ['freq_mhz', 'Frequency', 'mHz', 0.67, 0.67],
  ['p_pct_of_s', 'Active power', '% of S', 0.043, 0.061],
  ['s_pct', 'Apparent power', '%', 0.13, 0.15],
  ['pf', 'PF', 'p.u.', 0.002, 0.002],
  ['n_pct_of_s', 'Non-active power', '% of S', 0.6, 0.62],
];

export function benchMetrology(figures: Figures): void {
  const firmware = fileURLToPath(new URL('../firmware/', import.meta.url));
  execFileSync('make', ['-s', '-C', firmware, `${firmware}build/host/meter-characterise`], { stdio: 'ignore' });
  const c = JSON.parse(execFileSync(`${firmware}build/host/meter-characterise`, [], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Characterisation;
  for (const [key, label, unit, sin, non] of TABLE_1) {
    figures.add('metrology', `sin_${key}`, c.sinusoidal[key] as number, unit, `≤ ${sin / 2} (paper ${sin})`, `${label}, r.m.s. of ${c.sinusoidal.windows} windows, sinusoidal sweep`);
    figures.add('metrology', `nonsin_${key}`, c.nonsinusoidal[key] as number, unit, `≤ ${non / 2} (paper ${non})`, `${label}, ${c.nonsinusoidal.windows} windows, THD 8 %`);
  }
  figures.add('metrology', 'thd_v_error_pp', c.nonsinusoidal.thdv_pp ?? NaN, 'pp', '≤ 0.03 (paper 0.072)', 'r.m.s. over the windows; to the 40th harmonic');
  figures.add('metrology', 'thd_i_error_pp', c.nonsinusoidal.thdi_pp ?? NaN, 'pp', '≤ 0.03 (paper 0.070)', `r.m.s.; worst window ${c.nonsinusoidal.max['thdi_pp']?.toFixed(3)} pp at 10 % of rated current`);
  figures.add('metrology', 'dip_start_max_cycles', c.dips.start_max_cycles, 'cycles', '< 0.5', `${c.dips.events} dips, swells, interruptions; ${c.dips.missed} missed`);
  figures.add('metrology', 'dip_duration_max_cycles', c.dips.duration_max_cycles, 'cycles', '< 0.5', '');
  figures.add('metrology', 'dip_residual_max_pct_udin', c.dips.residual_max_pct_udin, '% Udin', '≤ 0.2 (IEC 61000-4-30 class A)', '');
  figures.add('metrology', 'energy_max_error_pct', c.energy.max_error_pct, '%', '≤ 0.1', `${c.energy.seconds / 3600} h at 5..120 % of 15 A, PF 1 / 0.5 / 0.8`);

  // the Cortex-M3 budget
  const out = execFileSync('make', ['-s', '-C', firmware, 'bench'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const read = (label: string) => {
    const m = new RegExp(`${label}[^:]*:\\s*([\\d.]+)`).exec(out);
    if (!m?.[1]) throw new Error(`make bench printed no "${label}":\n${out}`);
    return Number(m[1]);
  };
  const perSecond = read('metrology instructions per second of signal');
  figures.add('firmware', 'm3_metrology_instructions_per_s', perSecond, 'insn/s', '', 'QEMU lm3s6965evb, -icount shift=0, both channels, FFTs included');
  figures.add('firmware', 'm3_metrology_share_of_72mhz_pct', (100 * perSecond) / 72e6, '%', '≤ 25', 'at one instruction per cycle');
  figures.add('firmware', 'm3_worst_block_instructions', read('worst 64-sample block'), 'insn', '', 'one DMA half-buffer (10 ms of signal)');
  figures.add('firmware', 'm3_snapshot_answer_instructions', read('SNAPSHOT answer'), 'insn', '', 'HMAC-SHA256 over a six-frame record');
  figures.add('firmware', 'm3_stack_bytes', read('stack high-water mark'), 'B', '', 'deepest stack while measuring and answering');
}
