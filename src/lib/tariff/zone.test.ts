import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_MS } from './slot';
import {
  addDays,
  addMonths,
  instantsOfWallTime,
  isValidTimeZone,
  localDateOf,
  localDateTime,
  localDayRange,
  localDaySlotStarts,
  localMonthRange,
  parseLocalDate,
  startOfLocalDay,
  utcOffsetMs,
} from './zone';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('local days on the 15-minute grid', () => {
  it('has 96 slots on an ordinary day in Rome, from local midnight', () => {
    const slots = localDaySlotStarts('2025-06-15', 'Europe/Rome');
    expect(slots).toHaveLength(96);
    expect(iso(slots[0] ?? 0)).toBe('2025-06-14T22:00:00.000Z');
    expect(iso(slots[95] ?? 0)).toBe('2025-06-15T21:45:00.000Z');
  });

  it('has 92 slots when the clocks go forward and 100 when they go back', () => {
    const spring = localDayRange('2025-03-30', 'Europe/Rome');
    expect(iso(spring.start)).toBe('2025-03-29T23:00:00.000Z');
    expect(iso(spring.end)).toBe('2025-03-30T22:00:00.000Z');
    expect(localDaySlotStarts('2025-03-30', 'Europe/Rome')).toHaveLength(92);
    const autumn = localDayRange('2025-10-26', 'Europe/Rome');
    expect(iso(autumn.start)).toBe('2025-10-25T22:00:00.000Z');
    expect(iso(autumn.end)).toBe('2025-10-26T23:00:00.000Z');
    expect(localDaySlotStarts('2025-10-26', 'Europe/Rome')).toHaveLength(100);
    expect(localDaySlotStarts('2025-03-30', 'Europe/London')).toHaveLength(92);
    expect(localDaySlotStarts('2025-10-26', 'Europe/London')).toHaveLength(100);
  });

  it('handles zones whose day does not start at midnight or whose shifts are half an hour', () => {
    // Chile springs forward at midnight: 7 September 2025 begins at 01:00 local.
    const santiago = startOfLocalDay('2025-09-07', 'America/Santiago');
    expect(iso(santiago)).toBe('2025-09-07T04:00:00.000Z');
    expect(localDateTime(santiago, 'America/Santiago').hour).toBe(1);
    expect(localDaySlotStarts('2025-09-07', 'America/Santiago')).toHaveLength(92);
    // Lord Howe Island moves its clocks by 30 minutes.
    expect(localDaySlotStarts('2025-04-06', 'Australia/Lord_Howe')).toHaveLength(98);
    expect(localDaySlotStarts('2025-10-05', 'Australia/Lord_Howe')).toHaveLength(94);
    // Nepal is 5:45 ahead: still a slot boundary.
    expect(iso(startOfLocalDay('2025-06-15', 'Asia/Kathmandu'))).toBe('2025-06-14T18:15:00.000Z');
  });

  it('names every day of a year once, with slot counts that add up to the year', () => {
    let date = '2025-01-01';
    let total = 0;
    let end = startOfLocalDay(date, 'Europe/Rome');
    const counts = new Map<number, number>();
    while (date < '2026-01-01') {
      const range = localDayRange(date, 'Europe/Rome');
      expect(range.start).toBe(end);
      const n = (range.end - range.start) / SLOT_MS;
      counts.set(n, (counts.get(n) ?? 0) + 1);
      total += n;
      end = range.end;
      date = addDays(date, 1);
    }
    expect(total).toBe(365 * 96);
    expect(Object.fromEntries(counts)).toEqual({ 92: 1, 96: 363, 100: 1 });
  });

  it('maps any instant to the day whose range contains it', () => {
    const zones = ['Europe/Rome', 'Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }), fc.constantFrom(...zones), (ms, zone) => {
        const range = localDayRange(localDateOf(ms, zone), zone);
        expect(range.start).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(range.end);
        expect(range.start % SLOT_MS).toBe(0);
        expect([92, 94, 96, 98, 100]).toContain((range.end - range.start) / SLOT_MS);
      }),
      { numRuns: 300 },
    );
  });
});

describe('wall times', () => {
  it('finds two instants in the repeated hour, none in the skipped one', () => {
    expect(instantsOfWallTime('2025-10-26', 2, 30, 'Europe/Rome').map(iso)).toEqual(['2025-10-26T00:30:00.000Z', '2025-10-26T01:30:00.000Z']);
    expect(instantsOfWallTime('2025-03-30', 2, 30, 'Europe/Rome')).toEqual([]);
    expect(instantsOfWallTime('2025-03-30', 3, 0, 'Europe/Rome').map(iso)).toEqual(['2025-03-30T01:00:00.000Z']);
  });

  it('gives offsets, month ranges and calendar arithmetic', () => {
    expect(utcOffsetMs(Date.UTC(2025, 0, 15), 'Europe/Rome')).toBe(3_600_000);
    expect(utcOffsetMs(Date.UTC(2025, 6, 15), 'Europe/Rome')).toBe(7_200_000);
    const march = localMonthRange('2025-03', 'Europe/Rome');
    expect((march.end - march.start) / SLOT_MS).toBe(31 * 96 - 4);
    expect(addMonths('2025-12', 1)).toBe('2026-01');
    expect(addMonths('2025-01', -1)).toBe('2024-12');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(parseLocalDate('2025-02-29')).toBeUndefined();
    expect(() => startOfLocalDay('2025-13-01', 'Europe/Rome')).toThrow(/calendar date/);
    expect(isValidTimeZone('Europe/Rome')).toBe(true);
    expect(isValidTimeZone('Europe/Atlantis')).toBe(false);
  });
});

describe('the offset cache', () => {
  it('finds a change at an odd minute (St John\'s changed at 00:01 local until 2011)', () => {
    expect(localDateTime(Date.UTC(1997, 9, 26, 2, 30), 'America/St_Johns')).toMatchObject({ day: 26, hour: 0, minute: 0 });
    expect(localDateTime(Date.UTC(1997, 9, 26, 2, 31), 'America/St_Johns')).toMatchObject({ day: 25, hour: 23, minute: 1 });
  });

  it('agrees with Intl on the wall clock of any instant', () => {
    const zones = ['Europe/Rome', 'Europe/London', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham'];
    const reference = new Map(zones.map((z) => [z, new Intl.DateTimeFormat('en-GB', { timeZone: z, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })] as const));
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1) / 60_000, max: Date.UTC(2060, 0, 1) / 60_000 }).map((m) => m * 60_000), fc.constantFrom(...zones), (ms, zone) => {
        const t = localDateTime(ms, zone);
        const p = (n: number): string => String(n).padStart(2, '0');
        expect(`${p(t.day)}/${p(t.month)}/${t.year}, ${p(t.hour)}:${p(t.minute)}`).toBe(reference.get(zone)?.format(ms));
      }),
      { numRuns: 2000 },
    );
  });
});
