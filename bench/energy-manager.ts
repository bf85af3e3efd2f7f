/**
 * What the energy manager costs on every poll cycle: the guard's step over 32 loads (and the
 * relay commands it sends), and the same with 10 planned runs being followed and re-planned
 * every quarter hour, over two simulated hours of one-second cycles with the loads coming and
 * going. A cycle is 1 s; the manager's share of it should stay far below a millisecond.
 */
import { allowing, DEFAULT_ENERGY_CONFIG, type EnergyConfig } from '../src/lib/energy/config';
import { EnergyManager, type LiveMeter, type SiteMeter } from '../src/lib/energy/manager';
import { planningScenario } from '../src/lib/energy/testing/scenarios';
import { seededRandom } from '../src/lib/sim/random';
import { SLOT_MS } from '../src/lib/tariff/slot';
import type { Figures } from './figures';

const LOADS = 32;
const CYCLES = 2 * 3600;

function quantile(v: readonly number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function run(programmes: number): Promise<number[]> {
  const start = Date.UTC(2026, 5, 10, 6, 0);
  const rand = seededRandom(7 + programmes);
  const meters: SiteMeter[] = Array.from({ length: LOADS }, (_, i) => ({ uid: `m${i}`, node: i + 1, name: `Load ${i + 1}`, kind: 'load', priority: 1 + (i % 99), gridPoint: false, interruptible: i % 3 !== 0 }));
  const ratedW = meters.map(() => 50 + rand() * 900);
  const relay = meters.map(() => true);
  const active = meters.map(() => rand() < 0.5);
  const scenario = planningScenario(3, programmes, 24, start, 6000);
  const config: EnergyConfig = allowing({
    ...DEFAULT_ENERGY_CONFIG,
    programmes: scenario.loads.map((l, i) => ({ id: l.id, uid: `m${i}`, programme: 'custom', profile: l.profile, interruptible: l.interruptible, earliestStart: l.earliestStart, latestEnd: l.latestEnd, strategy: l.strategy, createdAt: start })),
  }, meters.map((m) => m.uid));
  let now = start;
  const manager = new EnergyManager({
    config,
    contractW: 6000,
    now: () => now,
    // The meter answers at once; its relay follows.
    switchRelay: async (node, on) => {
      relay[node - 1] = on;
      return { resultName: 'ok' };
    },
  });
  manager.setMeters(meters);
  manager.setInputs(scenario.inputs);
  const times: number[] = [];
  for (let c = 0; c < CYCLES; c++) {
    now = start + c * 1000;
    // Appliances start and stop now and then; the site crosses its limit from time to time.
    if (rand() < 0.05) {
      const k = Math.floor(rand() * LOADS);
      active[k] = !active[k];
    }
    const live: LiveMeter[] = meters.map((m, i) => ({ uid: m.uid, node: m.node, relayOn: relay[i] ?? false, watts: relay[i] && active[i] ? (ratedW[i] ?? 0) : 0.5, silent: false }));
    const gridW = live.reduce((s, l) => s + l.watts, 0);
    const t0 = performance.now();
    manager.step(now, live, gridW);
    times.push(performance.now() - t0);
    if (c % 50 === 0) await new Promise((r) => setImmediate(r)); // let the commands' promises settle
    if (now - start >= 24 * 3600_000 - SLOT_MS) break;
  }
  return times;
}

export async function benchEnergyManager(figures: Figures): Promise<void> {
  await run(10); // warm-up: the JIT has settled in a page that has been open a while
  const guard = await run(0);
  figures.add('energy', 'manager_step_32_loads_median_us', quantile(guard, 0.5) * 1000, 'µs', '', `the guard's step per 1-s poll cycle, ${LOADS} loads coming and going over ${CYCLES / 3600} h (Node)`);
  figures.add('energy', 'manager_step_32_loads_p99_us', quantile(guard, 0.99) * 1000, 'µs', '< 1000');
  const planned = await run(10);
  figures.add('energy', 'manager_step_10_runs_median_us', quantile(planned, 0.5) * 1000, 'µs', '', 'the same with 10 planned runs followed through the guard');
  figures.add('energy', 'manager_step_10_runs_max_ms', Math.max(...planned), 'ms', '< 100', 'the slowest cycle: a re-plan of the 10 runs at a new quarter hour');
}
