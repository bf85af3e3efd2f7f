/**
 * Writes docs/wattwall.dbc from the layouts of docs/protocol.md, so that SavvyCAN, cantools and
 * other CAN tools decode the meters' frames.
 *
 *   npx tsx scripts/gen-dbc.ts [--nodes 1-32] [--out docs/wattwall.dbc]
 *
 * DBC names a message by its exact identifier, so there is one message per function and node.
 * A secured message spans several frames on one identifier; byte 0 of each frame
 * (`index << 4 | last`) is the DBC multiplexor, and every field lies inside one frame by the
 * protocol's layout rule, so each quantity is a plain multiplexed signal.
 */
import { writeFileSync } from 'node:fs';
import { FunctionCode } from '../src/lib/meter/ids';
import { payloadLayouts } from '../src/lib/meter/records';
import { frameCount } from '../src/lib/meter/segmentation';
import { snakeCase } from '../src/lib/meter/vectors';

/** How a field is shown in CAN tools; where it lies comes from the codec (src/lib/meter/records.ts). */
interface Presentation {
  readonly factor?: number;
  readonly unit?: string;
  readonly comment?: string;
}

interface Field extends Presentation {
  readonly name: string;
  readonly offset: number;
  readonly bytes: number;
  readonly signed?: boolean;
}

interface MessageLayout {
  readonly fn: number;
  readonly name: string;
  readonly sender: 'AGGREGATOR' | 'METER';
  readonly payloadBytes: number;
  readonly fields: readonly Field[];
  readonly comment: string;
}

const FV_AND_MAC_BYTES = 12;

const MESSAGES: readonly { fn: number; name: string; sender: 'AGGREGATOR' | 'METER'; comment: string }[] = [
  { fn: FunctionCode.RELAY, name: 'RELAY', sender: 'AGGREGATOR', comment: 'Switch the load relay (secured command).' },
  { fn: FunctionCode.TIME, name: 'TIME', sender: 'AGGREGATOR', comment: 'The time; node 0 is the broadcast (secured command).' },
  { fn: FunctionCode.CONTROL, name: 'CONTROL', sender: 'AGGREGATOR', comment: 'Thresholds, identify, clear energy, read history (secured command); the first payload byte is the opcode.' },
  { fn: FunctionCode.ACK, name: 'ACK', sender: 'METER', comment: 'Result of a command (secured record).' },
  { fn: FunctionCode.SNAPSHOT, name: 'SNAPSHOT', sender: 'METER', comment: 'Live quantities of the last 10-cycle window (secured record, answer to a remote frame).' },
  { fn: FunctionCode.ENERGY, name: 'ENERGY', sender: 'METER', comment: 'Energy registers (secured record, answer to a remote frame).' },
  { fn: FunctionCode.STATUS, name: 'STATUS', sender: 'METER', comment: 'Meter status (secured record, answer to a remote frame).' },
  { fn: FunctionCode.AGGREGATE, name: 'AGGREGATE', sender: 'METER', comment: 'One 10-minute aggregate (secured record).' },
  { fn: FunctionCode.EVENT, name: 'EVENT', sender: 'METER', comment: 'One dip, swell or interruption (secured record).' },
];

const VOLTS = { factor: 0.01, unit: 'V' };
const WATTS = { factor: 0.001, unit: 'W' };
const WATT_HOURS = { factor: 0.001, unit: 'Wh' };
const THD = { factor: 0.01, unit: '%', comment: '655.35 = not measured' };

/**
 * Scale, unit and comment by `MESSAGE.field`, else by field name (snake_case, as in
 * docs/protocol.md); raw integers otherwise.
 */
const PRESENTATION: Readonly<Record<string, Presentation>> = {
  'SNAPSHOT.flags': { comment: 'bit0 relay on, bit1 time valid, bit2 window flagged, bit3 no voltage' },
  'SNAPSHOT.thd_v': { ...THD, comment: '655.35 = not measured; OBIS 1-0:32.7.124' },
  'SNAPSHOT.thd_i': { ...THD, comment: '655.35 = not measured; OBIS 1-0:31.7.124' },
  'STATUS.flags': { comment: 'bit0 relay on, bit1 time valid, bit2 identifying, bit3 command lockout' },
  'AGGREGATE.import_mwh': { ...WATT_HOURS, comment: 'within the interval' },
  'AGGREGATE.export_mwh': { ...WATT_HOURS, comment: 'within the interval' },
  state: { comment: '0 off, 1 on' },
  unix_ms: { unit: 'ms' },
  result: { comment: '0 ok, 1 bad arguments, 2 not armed or expired, 3 mismatch, 4 busy, 5 authentication failed, 6 stale' },
  time_s: { unit: 's' },
  time_cs: { factor: 0.01, unit: 's' },
  vrms: { ...VOLTS, comment: 'OBIS 1-0:32.7.0' },
  p: { ...WATTS, comment: 'active power, positive import; OBIS 1-0:1.7.0 minus 1-0:2.7.0' },
  irms: { factor: 0.001, unit: 'A', comment: 'OBIS 1-0:31.7.0' },
  n: { factor: 0.001, unit: 'var', comment: 'non-active power' },
  pf: { factor: 0.0001, comment: 'OBIS 1-0:13.7.0' },
  f: { factor: 0.001, unit: 'Hz', comment: 'OBIS 1-0:14.7.0' },
  thd_v: THD,
  thd_i: THD,
  import_mwh: { ...WATT_HOURS, comment: 'OBIS 1-0:1.8.0' },
  export_mwh: { ...WATT_HOURS, comment: 'OBIS 1-0:2.8.0' },
  uptime_s: { unit: 's' },
  start_s: { unit: 's' },
  f_mean: { factor: 0.001, unit: 'Hz' },
  p_mean: WATTS,
  p_min: WATTS,
  p_max: WATTS,
  vrms_mean: VOLTS,
  vrms_min: VOLTS,
  vrms_max: VOLTS,
  kind: { comment: '1 dip, 2 swell, 3 interruption' },
  duration_ms: { unit: 'ms' },
  start_ms: { unit: 'ms' },
  extreme: VOLTS,
};

/** The wire layouts of the codec, with the uid split in two signals (a DBC signal holds at most 64 bits). */
export function layouts(): MessageLayout[] {
  const payloads = payloadLayouts();
  return MESSAGES.map((m) => {
    const payload = payloads[m.name];
    // CONTROL's length (and so its multiplexor values) depends on the opcode: only its frame byte is described.
    if (!payload) return { ...m, payloadBytes: payloads.CLEAR_ENERGY_CONFIRM?.length ?? 0, fields: [] };
    const fields = payload.fields.flatMap((f): Field[] => {
      const name = snakeCase(f.name);
      if (f.type === 'uid') return [{ name: 'uid_0', offset: f.offset, bytes: 7 }, { name: 'uid_1', offset: f.offset + 7, bytes: f.size - 7 }];
      return [{ name, offset: f.offset, bytes: f.size, signed: f.type.startsWith('i'), ...(PRESENTATION[`${m.name}.${name}`] ?? PRESENTATION[name]) }];
    });
    return { ...m, payloadBytes: payload.length, fields };
  });
}

function signal(field: Field, mux: number, frameOffset: number): string {
  const bits = field.bytes * 8;
  const factor = field.factor ?? 1;
  const min = field.signed ? -(2 ** (bits - 1)) * factor : 0;
  const max = (field.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1) * factor;
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(12)).toString());
  return ` SG_ ${field.name} m${mux} : ${8 * (1 + frameOffset)}|${bits}@1${field.signed ? '-' : '+'} (${fmt(factor)},0) [${fmt(min)}|${fmt(max)}] "${field.unit ?? ''}" Vector__XXX`;
}

export function dbc(nodes: readonly number[]): string {
  const out: string[] = [
    'VERSION "wattwall protocol 1"',
    '',
    'NS_ :',
    '',
    'BS_:',
    '',
    'BU_: AGGREGATOR METER',
    '',
  ];
  const comments: string[] = [];
  // Node 0 is the broadcast address: only TIME travels there.
  for (const node of [0, ...nodes]) {
    for (const layout of layouts()) {
      if (node === 0 && layout.name !== 'TIME') continue;
      const id = (layout.fn << 7) | node;
      const frames = frameCount(layout.payloadBytes + FV_AND_MAC_BYTES);
      const last = frames - 1;
      out.push(`BO_ ${id} ${layout.name}_${node}: 8 ${layout.sender}`);
      out.push(' SG_ frame M : 0|8@1+ (1,0) [0|255] "" Vector__XXX');
      for (const field of layout.fields) {
        const index = Math.floor(field.offset / 7);
        if (Math.floor((field.offset + field.bytes - 1) / 7) !== index) throw new Error(`${layout.name}.${field.name} straddles frames`);
        out.push(signal(field, (index << 4) | last, field.offset - 7 * index));
      }
      // The freshness value is decodable where it lies inside one frame.
      const fvIndex = Math.floor(layout.payloadBytes / 7);
      if (layout.fields.length > 0 && Math.floor((layout.payloadBytes + 3) / 7) === fvIndex) {
        out.push(signal({ name: 'fv', offset: layout.payloadBytes, bytes: 4 }, (fvIndex << 4) | last, layout.payloadBytes - 7 * fvIndex));
      }
      out.push('');
      comments.push(`CM_ BO_ ${id} "${layout.comment} Node ${node}, ${frames} frames; byte 0 = index << 4 | last.";`);
      for (const field of layout.fields) {
        if (field.comment) comments.push(`CM_ SG_ ${id} ${field.name} "${field.comment}";`);
      }
    }
  }
  return [...out, ...comments, ''].join('\n');
}

function parseNodes(arg: string | undefined): number[] {
  const [from, to] = (arg ?? '1-32').split('-').map(Number);
  if (!from || !to || from < 1 || to > 127 || from > to) throw new Error(`--nodes wants a range within 1-127, not ${arg}`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = value('--out') ?? new URL('../docs/wattwall.dbc', import.meta.url).pathname;
  writeFileSync(out, dbc(parseNodes(value('--nodes'))));
  console.log(`wrote ${out}`);
}
