import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CandumpEntry, formatCandump, formatCandumpLine, parseCandump } from './candump';
import { CanError } from './error-frame';
import { dataFrame, remoteFrame } from './frame';

describe('candump -L logs', () => {
  it('reads the can-utils example', () => {
    expect(parseCandump('(1436509052.249713) can0 123#DEADBEEF\n')).toEqual({
      entries: [{ kind: 'frame', timeUs: 1436509052249713, iface: 'can0', frame: dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef]) }],
      problems: [],
    });
  });

  it('reads extended, remote, empty, dotted, raw-DLC and directed frames, CRLF and nanosecond stamps', () => {
    const log = [
      '(1436509052.249713) can0 18FF50E5#AA55',
      '(1436509052.300000) can0 7DF#R',
      '(1436509052.300001) can0 7DF#R8',
      '(1436509052.300002) vcan1 000#',
      '(1436509052.300003) can0 123#DE.AD.BE.EF',
      '(1436509052.300004) can0 123#1122334455667788_E',
      '(1436509052.300005) can0 204#R8 T',
      '(1436509052.300006123) can0 204#01 R',
      '# a comment',
      '',
    ].join('\r\n');
    const { entries, problems } = parseCandump(log);
    expect(problems).toEqual([]);
    const frames = entries.map((e) => (e.kind === 'frame' ? e.frame : undefined));
    expect(frames).toEqual([
      dataFrame(0x18ff50e5, [0xaa, 0x55], true),
      remoteFrame(0x7df, 0),
      remoteFrame(0x7df, 8),
      dataFrame(0, []),
      dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef]),
      dataFrame(0x123, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]),
      remoteFrame(0x204, 8),
      dataFrame(0x204, [1]),
    ]);
    expect(entries[3]?.iface).toBe('vcan1');
    expect(entries[6]?.direction).toBe('tx');
    expect(entries[7]).toMatchObject({ direction: 'rx', timeUs: 1436509052300006 });
  });

  it('reads error frames as errors, with their meaning', () => {
    const { entries } = parseCandump('(1436509052.249713) can0 20000240#0000000000000080\n');
    expect(entries[0]).toMatchObject({ kind: 'error', classes: CanError.BUSOFF | CanError.CNT, error: { state: 'bus-off', txErrors: 0, rxErrors: 0x80 } });
    expect(formatCandumpLine(entries[0] as CandumpEntry)).toBe('(1436509052.249713) can0 20000240#0000000000000080');
  });

  it('reports each bad line by number and keeps the good ones', () => {
    const log = ['(1.000000) can0 123#00', 'garbage', '(2.000000) can0 12#00', '(3.000000) can0 123#0', '(4.000000) can0 123##0112233', '(5.000000) can0 123#001122334455667788', '(6.000000) can0 800#00', '(7.000000) can0 7FF#R9', '(8.000000) can0 124#01'].join('\n');
    const { entries, problems } = parseCandump(log);
    expect(entries.map((e) => e.timeUs)).toEqual([1e6, 8e6]);
    expect(problems.map((p) => [p.line, p.reason])).toEqual([
      [2, 'not a candump -L line: "(seconds.micros) interface id#data"'],
      [3, 'identifier "12" is neither 3 nor 8 hex digits'],
      [4, 'data "0" is not whole hex bytes'],
      [5, 'a CAN FD frame (##): this app reads classic CAN only'],
      [6, '9 data bytes: more than classic CAN carries'],
      [7, 'identifier 2048 is outside 0..0x7ff'],
      [8, 'remote frame length "9" is not 0-8'],
    ]);
  });

  it('writes what it reads: every classic frame and timestamp round-trips', () => {
    const frame = fc.oneof(
      fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data)),
      fc.record({ id: fc.integer({ min: 0, max: 0x1fffffff }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data, true)),
      fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), dlc: fc.integer({ min: 0, max: 8 }) }).map(({ id, dlc }) => remoteFrame(id, dlc)),
    );
    const entry = fc.record({ timeUs: fc.integer({ min: 0, max: 4_102_444_800_000_000 }), frame, direction: fc.constantFrom('rx' as const, 'tx' as const) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (items) => {
        const entries: CandumpEntry[] = items.map((i) => ({ kind: 'frame', iface: 'can0', ...i }));
        const plain = parseCandump(formatCandump(entries));
        expect(plain.problems).toEqual([]);
        expect(plain.entries).toEqual(entries.map(({ direction: _d, ...rest }) => rest));
        expect(parseCandump(formatCandump(entries, true)).entries).toEqual(entries);
      }),
    );
  });
});
