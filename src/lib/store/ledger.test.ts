import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { accountReading, apportion, type RegisterReading, spreadOverSlots } from './ledger';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const reading = (at: number, importMwh: number, exportMwh = 0, epoch = 0, boots = 1): RegisterReading => ({ at, importMwh, exportMwh, epoch, boots });

describe('accountReading', () => {
  it('takes the first reading as the baseline and counts the difference of the next', () => {
    const first = accountReading(undefined, reading(T0, 5_000));
    expect(first).toEqual({ delta: undefined, cursor: reading(T0, 5_000), note: 'baseline' });
    const next = accountReading(first.cursor, reading(T0 + 10_000, 5_640, 3));
    expect(next.delta).toEqual({ from: T0, to: T0 + 10_000, importMwh: 640, exportMwh: 3 });
    expect(next.note).toBeUndefined();
  });

  it('ignores a reading older than the one counted', () => {
    const cursor = reading(T0, 5_000);
    expect(accountReading(cursor, reading(T0 - 1, 4_000))).toEqual({ delta: undefined, cursor, note: 'out-of-order' });
  });

  it('counts what the registers moved when the clock stepped back, at the new time, and follows the new clock', () => {
    // The tablet's clock was an hour ahead; NTP corrected it between two readings 10 s apart.
    const cursor = reading(T0 + 3_600_000, 5_000);
    const out = accountReading(cursor, reading(T0 + 10_000, 5_640));
    expect(out.note).toBe('clock-stepped-back');
    expect(out.delta).toEqual({ from: T0 + 10_000, to: T0 + 10_000, importMwh: 640, exportMwh: 0 });
    expect(out.cursor.at).toBe(T0 + 10_000);
    // The next reading counts from the corrected time on.
    const next = accountReading(out.cursor, reading(T0 + 20_000, 6_000));
    expect(next.delta).toEqual({ from: T0 + 10_000, to: T0 + 20_000, importMwh: 360, exportMwh: 0 });
    expect(next.note).toBeUndefined();
    // Nothing moved: nothing to count, but the cursor still takes the corrected time.
    const still = accountReading(cursor, reading(T0 + 10_000, 5_000));
    expect(still.delta).toBeUndefined();
    expect(still.cursor.at).toBe(T0 + 10_000);
  });

  it('a reboot across a step back of the clock counts as a reboot, at the new time', () => {
    const out = accountReading(reading(T0 + 3_600_000, 12_730), reading(T0, 12_400, 0, 0, 2));
    expect(out.delta).toEqual({ from: T0, to: T0, importMwh: 400, exportMwh: 0 });
    expect(out.note).toBe('reboot-resumed');
  });

  it('after a reboot that lost the sub-Wh remainder, counts from the whole Wh the meter resumed from', () => {
    // Last read 12.730 Wh; the meter had persisted 12 Wh, lost 0.730 Wh and more at the cut,
    // then counted 0.400 Wh after the boot: its register reads 12.400 Wh.
    const out = accountReading(reading(T0, 12_730), reading(T0 + 60_000, 12_400, 0, 0, 2));
    expect(out.delta).toEqual({ from: T0, to: T0 + 60_000, importMwh: 400, exportMwh: 0 });
    expect(out.note).toBe('reboot-resumed');
  });

  it('after a reboot that lost nothing, counts the plain difference, and still notes the reboot', () => {
    const out = accountReading(reading(T0, 12_730), reading(T0 + 60_000, 13_100, 0, 0, 2));
    expect(out.delta?.importMwh).toBe(370);
    expect(out.note).toBe('reboot-resumed');
  });

  it('after a clear, counts what the registers hold since it', () => {
    const out = accountReading(reading(T0, 99_000, 500, 0), reading(T0 + 10_000, 120, 7, 1));
    expect(out.delta).toEqual({ from: T0, to: T0 + 10_000, importMwh: 120, exportMwh: 7 });
    expect(out.note).toBe('cleared');
  });

  it('after a re-provisioning (boots went back), counts from zero', () => {
    const out = accountReading(reading(T0, 99_000, 0, 0, 40), reading(T0 + 10_000, 300, 0, 0, 1));
    expect(out.delta?.importMwh).toBe(300);
    expect(out.note).toBe('reprovisioned');
  });

  it('refuses to count a register that went back with no reboot, and rebases', () => {
    const out = accountReading(reading(T0, 99_000), reading(T0 + 10_000, 98_000));
    expect(out).toEqual({ delta: undefined, cursor: reading(T0 + 10_000, 98_000), note: 'unexplained-reset' });
  });

  it('over any sequence of honest readings, the deltas add up to the register differences', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3_600_000 }), di: fc.integer({ min: 0, max: 5_000_000 }), de: fc.integer({ min: 0, max: 100_000 }) }), { maxLength: 60 }), (steps) => {
        let cursor: RegisterReading | undefined;
        let at = T0;
        let imp = 1_000_000;
        let exp = 0;
        let counted = 0;
        let countedExport = 0;
        for (const s of [{ dt: 0, di: 0, de: 0 }, ...steps]) {
          at += s.dt;
          imp += s.di;
          exp += s.de;
          const out = accountReading(cursor, reading(at, imp, exp));
          counted += out.delta?.importMwh ?? 0;
          countedExport += out.delta?.exportMwh ?? 0;
          cursor = out.cursor;
        }
        expect(counted).toBe(imp - 1_000_000);
        expect(countedExport).toBe(exp);
      }),
    );
  });
});

describe('spreadOverSlots', () => {
  const slot = (k: number) => T0 + k * SLOT_MS;

  it('keeps a delta inside one slot whole', () => {
    expect(spreadOverSlots({ from: slot(0) + 1000, to: slot(0) + 11_000, importMwh: 640, exportMwh: 0 })).toEqual([{ start: slot(0), importMwh: 640, exportMwh: 0 }]);
  });

  it('gives a delta ending exactly on a boundary to the slot before it', () => {
    expect(spreadOverSlots({ from: slot(0) + 5000, to: slot(1), importMwh: 10, exportMwh: 0 })).toEqual([{ start: slot(0), importMwh: 10, exportMwh: 0 }]);
  });

  it('splits a delta across a boundary in proportion to time, exactly', () => {
    const shares = spreadOverSlots({ from: slot(1) - 3_000, to: slot(1) + 1_000, importMwh: 1_001, exportMwh: 0 });
    expect(shares).toEqual([
      { start: slot(0), importMwh: 751, exportMwh: 0 },
      { start: slot(1), importMwh: 250, exportMwh: 0 },
    ]);
  });

  it('places hinted energy where the meter measured it and spreads the rest over the uncovered time', () => {
    // A two-hour gap; the meter's aggregates cover the second hour: 1,000 mWh in 10:00-10:10 after the gap start + 1 h.
    const from = slot(0);
    const to = slot(8);
    const hintFrom = slot(4);
    const hints = [
      { from: hintFrom, to: hintFrom + 600_000, importMwh: 6_000, exportMwh: 0 },
      { from: hintFrom + 600_000, to: hintFrom + 1_200_000, importMwh: 0, exportMwh: 0 },
      { from: hintFrom + 1_200_000, to: hintFrom + 1_800_000, importMwh: 0, exportMwh: 0 },
      { from: hintFrom + 1_800_000, to: hintFrom + 2_400_000, importMwh: 0, exportMwh: 0 },
      { from: hintFrom + 2_400_000, to: hintFrom + 3_000_000, importMwh: 0, exportMwh: 0 },
      { from: hintFrom + 3_000_000, to: hintFrom + 3_600_000, importMwh: 0, exportMwh: 0 },
    ];
    const shares = spreadOverSlots({ from, to, importMwh: 10_000, exportMwh: 0 }, hints);
    const byStart = new Map(shares.map((s) => [s.start, s.importMwh]));
    // 4,000 mWh unexplained over the first (uncovered) hour: 1,000 per slot.
    for (const k of [0, 1, 2, 3]) expect(byStart.get(slot(k))).toBe(1_000);
    // The 6,000 of 10:00-10:10 fall in slot 4 (whole 10 minutes inside it).
    expect(byStart.get(slot(4))).toBe(6_000);
    expect(byStart.get(slot(5))).toBeUndefined();
    expect(shares.reduce((a, s) => a + s.importMwh, 0)).toBe(10_000);
  });

  it('scales hints down when they claim more than the registers counted', () => {
    const hints = [{ from: slot(0), to: slot(0) + 600_000, importMwh: 3_000, exportMwh: 0 }];
    const shares = spreadOverSlots({ from: slot(0), to: slot(0) + 600_000, importMwh: 1_500, exportMwh: 0 }, hints);
    expect(shares).toEqual([{ start: slot(0), importMwh: 1_500, exportMwh: 0 }]);
  });

  it('always conserves both registers exactly and never gives a negative share', () => {
    const hint = fc.record({ from: fc.integer({ min: 0, max: 40 * SLOT_MS }), len: fc.integer({ min: 1, max: 2 * SLOT_MS }), importMwh: fc.integer({ min: 0, max: 1e6 }), exportMwh: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 * SLOT_MS }),
        fc.integer({ min: 0, max: 20 * SLOT_MS }),
        fc.integer({ min: 0, max: 1e8 }),
        fc.integer({ min: 0, max: 1e7 }),
        fc.array(hint, { maxLength: 8 }),
        (offset, length, importMwh, exportMwh, rawHints) => {
          const from = T0 + offset;
          const hints = rawHints.map((h) => ({ from: T0 + h.from, to: T0 + h.from + h.len, importMwh: h.importMwh, exportMwh: h.exportMwh }));
          const shares = spreadOverSlots({ from, to: from + length, importMwh, exportMwh }, hints);
          expect(shares.reduce((a, s) => a + s.importMwh, 0)).toBe(importMwh);
          expect(shares.reduce((a, s) => a + s.exportMwh, 0)).toBe(exportMwh);
          for (const s of shares) {
            expect(s.importMwh).toBeGreaterThanOrEqual(0);
            expect(s.exportMwh).toBeGreaterThanOrEqual(0);
            expect(s.start % SLOT_MS).toBe(0);
            expect(s.start).toBeGreaterThanOrEqual(Math.floor(from / SLOT_MS) * SLOT_MS);
            expect(s.start).toBeLessThan(Math.max(from + length, from + 1));
          }
        },
      ),
    );
  });
});

describe('apportion', () => {
  it('splits by largest remainder', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(7, [0, 0])).toEqual([4, 3]);
    expect(apportion(0, [])).toEqual([]);
  });

  it('refuses what cannot be split exactly', () => {
    expect(() => apportion(1.5, [1])).toThrow(RangeError);
    expect(() => apportion(3, [])).toThrow(RangeError);
  });
});
