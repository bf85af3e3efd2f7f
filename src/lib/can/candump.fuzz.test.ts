/**
 * candump logs under fuzzing: any text parses without throwing, every line that is not blank or a
 * comment becomes exactly one entry or one numbered problem (nothing silently vanishes), good
 * lines are kept whatever bad lines surround them, and what the writer writes reads back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CandumpEntry, formatCandump, formatCandumpLine, parseCandump, parseFrameText } from './candump';
import { CAN_ERR_FLAG } from './error-frame';
import { validated } from './frame';
import { canFrameArb } from './testing/arbitraries';

const RUNS = { numRuns: 1000 };

/** Lines counted as content: what parseCandump must account for. */
function contentLines(text: string): number {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
}

const candumpChar = fc.constantFrom(...'()0123456789.abcdefABCDEF#Rr_ TXcan\t'.split(''));
const candumpish = fc.array(fc.oneof(candumpChar, fc.constant('\n'), fc.string({ maxLength: 3 })), { maxLength: 200 }).map((a) => a.join(''));
const iface = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const entryArb: fc.Arbitrary<CandumpEntry> = fc.oneof(
  fc.record({ timeUs: fc.integer({ min: 0, max: 4_102_444_800_000_000 }), iface, frame: canFrameArb, direction: fc.constantFrom('rx' as const, 'tx' as const) }).map((e) => ({ kind: 'frame' as const, ...e })),
  fc.record({ timeUs: fc.integer({ min: 0, max: 4_102_444_800_000_000 }), iface, classes: fc.integer({ min: 0, max: 0x1fffffff }), raw: fc.uint8Array({ minLength: 8, maxLength: 8 }) }).map(({ timeUs, iface, classes, raw }) => {
    const parsed = parseCandump(`(0.0) x ${(CAN_ERR_FLAG | classes).toString(16).padStart(8, '0')}#${Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join('')}`).entries[0];
    if (parsed?.kind !== 'error') throw new Error('an error frame did not read as one');
    return { kind: 'error' as const, timeUs, iface, error: parsed.error, raw, classes };
  }),
);

describe('candump under fuzzing', () => {
  it('never throws on any text, and accounts for every content line as an entry or a problem', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), candumpish), (text) => {
        const log = parseCandump(text);
        expect(log.entries.length + log.problems.length).toBe(contentLines(text));
        for (const p of log.problems) {
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.reason.length).toBeGreaterThan(0);
        }
        for (const e of log.entries) {
          expect(Number.isSafeInteger(e.timeUs)).toBe(true);
          if (e.kind === 'frame') expect(validated(e.frame)).toBe(e.frame);
        }
      }),
      RUNS,
    );
  });

  it('any frame text gives a valid frame, an error frame or a reason', () => {
    const body = fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...'0123456789ABCDEF#R._r'.split('')), { maxLength: 30 }).map((a) => a.join('')));
    fc.assert(
      fc.property(body, (text) => {
        const p = parseFrameText(text);
        if ('reason' in p) expect(p.reason.length).toBeGreaterThan(0);
        else if (p.kind === 'frame') expect(validated(p.frame)).toBe(p.frame);
        else expect(p.raw.length).toBe(8);
      }),
      RUNS,
    );
  });

  it('reads back every entry it writes, frames and error frames, with and without direction', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 20 }), fc.boolean(), (entries, withDirection) => {
        const log = parseCandump(formatCandump(entries, withDirection));
        expect(log.problems).toEqual([]);
        const expected = entries.map((e) => {
          if (withDirection || !('direction' in e)) return e;
          const { direction: _, ...rest } = e;
          return rest;
        });
        expect(log.entries).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every good line whatever bad lines are mixed in, and numbers the bad ones', () => {
    const bad = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('\r') && s.trim() !== '' && !s.trim().startsWith('#') && parseCandump(s).problems.length === 1);
    const line = fc.oneof(entryArb.map((e) => ({ good: e, text: formatCandumpLine(e, true) })), bad.map((text) => ({ good: undefined, text })));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const log = parseCandump(lines.map((l) => l.text).join(eol));
        expect(log.entries).toEqual(lines.flatMap((l) => (l.good ? [l.good] : [])));
        expect(log.problems.map((p) => p.line)).toEqual(lines.flatMap((l, i) => (l.good ? [] : [i + 1])));
      }),
      { numRuns: 500 },
    );
  });

  it('reads a long line of spaces or digits in linear time (no regex backtracking blow-up)', () => {
    // Adversarial shapes for the line pattern; the test's timeout is the guard.
    for (const text of [`(1.1) can0 123#00${' '.repeat(50_000)}x`, `(${'1'.repeat(50_000)}.1) can0 123#00`, `(1.1)${' \t'.repeat(30_000)}can0${' '.repeat(30_000)}`, '('.repeat(100_000)]) {
      const log = parseCandump(text);
      expect(log.entries.length + log.problems.length).toBe(1);
    }
  });
});
