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

interface Field {
  readonly name: string;
  readonly offset: number;
  readonly bytes: number;
  readonly signed?: boolean;
  readonly factor?: number;
  readonly unit?: string;
  readonly comment?: string;
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

/** The payload layouts of docs/protocol.md §4-5 (CONTROL is described by its opcode only). */
export const LAYOUTS: readonly MessageLayout[] = [
  { fn: 0, name: 'RELAY', sender: 'AGGREGATOR', payloadBytes: 1, comment: 'Switch the load relay (secured command).', fields: [{ name: 'state', offset: 0, bytes: 1, comment: '0 off, 1 on' }] },
  { fn: 1, name: 'TIME', sender: 'AGGREGATOR', payloadBytes: 6, comment: 'The time; node 0 is the broadcast (secured command).', fields: [{ name: 'unix_ms', offset: 0, bytes: 6, unit: 'ms' }] },
  // CONTROL's length (and so its multiplexor values) depends on the opcode: only the frame byte is described.
  { fn: 2, name: 'CONTROL', sender: 'AGGREGATOR', payloadBytes: 34, comment: 'Thresholds, identify, clear energy, read history (secured command); the first payload byte is the opcode.', fields: [] },
  {
    fn: 3, name: 'ACK', sender: 'METER', payloadBytes: 11, comment: 'Result of a command (secured record).',
    fields: [
      { name: 'command_fv', offset: 0, bytes: 4 },
      { name: 'function', offset: 4, bytes: 1 },
      { name: 'opcode', offset: 5, bytes: 1 },
      { name: 'result', offset: 6, bytes: 1, comment: '0 ok, 1 bad arguments, 2 not armed or expired, 3 mismatch, 4 busy, 5 authentication failed, 6 stale' },
      { name: 'value', offset: 7, bytes: 4 },
    ],
  },
  {
    fn: 4, name: 'SNAPSHOT', sender: 'METER', payloadBytes: 28, comment: 'Live quantities of the last 10-cycle window (secured record, answer to a remote frame).',
    fields: [
      { name: 'time_s', offset: 0, bytes: 4, unit: 's' },
      { name: 'time_cs', offset: 4, bytes: 1, factor: 0.01, unit: 's' },
      { name: 'vrms', offset: 5, bytes: 2, factor: 0.01, unit: 'V', comment: 'OBIS 1-0:32.7.0' },
      { name: 'p', offset: 7, bytes: 4, signed: true, factor: 0.001, unit: 'W', comment: 'active power, positive import; OBIS 1-0:1.7.0 minus 1-0:2.7.0' },
      { name: 'irms', offset: 11, bytes: 2, factor: 0.001, unit: 'A', comment: 'OBIS 1-0:31.7.0' },
      { name: 'flags', offset: 13, bytes: 1, comment: 'bit0 relay on, bit1 time valid, bit2 window flagged, bit3 no voltage' },
      { name: 'n', offset: 14, bytes: 4, factor: 0.001, unit: 'var', comment: 'non-active power' },
      { name: 'pf', offset: 18, bytes: 2, signed: true, factor: 0.0001, comment: 'OBIS 1-0:13.7.0' },
      { name: 'f', offset: 21, bytes: 2, factor: 0.001, unit: 'Hz', comment: 'OBIS 1-0:14.7.0' },
      { name: 'thd_v', offset: 23, bytes: 2, factor: 0.01, unit: '%', comment: '655.35 = not measured; OBIS 1-0:32.7.124' },
      { name: 'thd_i', offset: 25, bytes: 2, factor: 0.01, unit: '%', comment: '655.35 = not measured; OBIS 1-0:31.7.124' },
    ],
  },
  {
    fn: 5, name: 'ENERGY', sender: 'METER', payloadBytes: 23, comment: 'Energy registers (secured record, answer to a remote frame).',
    fields: [
      { name: 'import_mwh', offset: 0, bytes: 6, factor: 0.001, unit: 'Wh', comment: 'OBIS 1-0:1.8.0' },
      { name: 'flags', offset: 6, bytes: 1 },
      { name: 'export_mwh', offset: 7, bytes: 6, factor: 0.001, unit: 'Wh', comment: 'OBIS 1-0:2.8.0' },
      { name: 'time_s', offset: 14, bytes: 4, unit: 's' },
      { name: 'epoch', offset: 18, bytes: 2 },
      { name: 'boots', offset: 21, bytes: 2 },
    ],
  },
  {
    fn: 6, name: 'STATUS', sender: 'METER', payloadBytes: 35, comment: 'Meter status (secured record, answer to a remote frame).',
    fields: [
      { name: 'protocol', offset: 0, bytes: 1 },
      { name: 'firmware', offset: 1, bytes: 2 },
      { name: 'build', offset: 3, bytes: 2 },
      { name: 'flags', offset: 5, bytes: 1, comment: 'bit0 relay on, bit1 time valid, bit2 identifying, bit3 command lockout' },
      { name: 'tec', offset: 6, bytes: 1 },
      { name: 'uid_0', offset: 7, bytes: 7 },
      { name: 'uid_1', offset: 14, bytes: 5 },
      { name: 'boots', offset: 19, bytes: 2 },
      { name: 'uptime_s', offset: 21, bytes: 4, unit: 's' },
      { name: 'rejected_mac', offset: 25, bytes: 2 },
      { name: 'rec', offset: 27, bytes: 1 },
      { name: 'rejected_stale', offset: 28, bytes: 2 },
      { name: 'rejected_malformed', offset: 30, bytes: 2 },
      { name: 'rate_limited', offset: 32, bytes: 2 },
    ],
  },
  {
    fn: 7, name: 'AGGREGATE', sender: 'METER', payloadBytes: 42, comment: 'One 10-minute aggregate (secured record).',
    fields: [
      { name: 'start_s', offset: 0, bytes: 4, unit: 's' },
      { name: 'flags', offset: 4, bytes: 1 },
      { name: 'f_mean', offset: 5, bytes: 2, factor: 0.001, unit: 'Hz' },
      { name: 'p_mean', offset: 7, bytes: 4, signed: true, factor: 0.001, unit: 'W' },
      { name: 'vrms_mean', offset: 11, bytes: 2, factor: 0.01, unit: 'V' },
      { name: 'p_min', offset: 14, bytes: 4, signed: true, factor: 0.001, unit: 'W' },
      { name: 'vrms_min', offset: 18, bytes: 2, factor: 0.01, unit: 'V' },
      { name: 'p_max', offset: 21, bytes: 4, signed: true, factor: 0.001, unit: 'W' },
      { name: 'vrms_max', offset: 25, bytes: 2, factor: 0.01, unit: 'V' },
      { name: 'import_mwh', offset: 28, bytes: 4, factor: 0.001, unit: 'Wh' },
      { name: 'thd_v', offset: 32, bytes: 2, factor: 0.01, unit: '%' },
      { name: 'export_mwh', offset: 35, bytes: 4, factor: 0.001, unit: 'Wh' },
      { name: 'thd_i', offset: 39, bytes: 2, factor: 0.01, unit: '%' },
    ],
  },
  {
    fn: 8, name: 'EVENT', sender: 'METER', payloadBytes: 16, comment: 'One dip, swell or interruption (secured record).',
    fields: [
      { name: 'start_s', offset: 0, bytes: 4, unit: 's' },
      { name: 'seq', offset: 4, bytes: 2 },
      { name: 'kind', offset: 6, bytes: 1, comment: '1 dip, 2 swell, 3 interruption' },
      { name: 'duration_ms', offset: 7, bytes: 4, unit: 'ms' },
      { name: 'start_ms', offset: 11, bytes: 2, unit: 'ms' },
      { name: 'extreme', offset: 14, bytes: 2, factor: 0.01, unit: 'V' },
    ],
  },
];

function frameCount(payloadBytes: number): number {
  return Math.ceil((payloadBytes + FV_AND_MAC_BYTES) / 7);
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
    for (const layout of LAYOUTS) {
      if (node === 0 && layout.name !== 'TIME') continue;
      const id = (layout.fn << 7) | node;
      const frames = frameCount(layout.payloadBytes);
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
