import { describe, expect, it } from 'vitest';
import { bandOf, ITALIAN_F123 } from './bands';
import { easterSunday, isHoliday, italianHolidays } from './holidays';
import { instantsOfWallTime, localDaySlotStarts } from './zone';

const ROME = 'Europe/Rome';
const at = (date: string, hour: number, minute = 0): number => {
  const t = instantsOfWallTime(date, hour, minute, ROME)[0];
  if (t === undefined) throw new Error('no such wall time');
  return t;
};
const band = (date: string, hour: number, minute = 0): string => bandOf(at(date, hour, minute), ITALIAN_F123, ROME);

function countBands(date: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const start of localDaySlotStarts(date, ROME)) {
    const b = bandOf(start, ITALIAN_F123, ROME);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts;
}

describe('Easter and the Italian holidays', () => {
  it('computes Easter Sunday, including the earliest and latest dates', () => {
    expect(easterSunday(2024)).toBe('2024-03-31');
    expect(easterSunday(2025)).toBe('2025-04-20');
    expect(easterSunday(2026)).toBe('2026-04-05');
    expect(easterSunday(2027)).toBe('2027-03-28');
    expect(easterSunday(2000)).toBe('2000-04-23');
    expect(easterSunday(1818)).toBe('1818-03-22');
    expect(easterSunday(2285)).toBe('2285-03-22');
    expect(easterSunday(1943)).toBe('1943-04-25');
    expect(easterSunday(2038)).toBe('2038-04-25');
  });

  it('lists the eleven national holidays with Easter Monday', () => {
    expect(italianHolidays(2025)).toEqual([
      '2025-01-01', '2025-01-06', '2025-04-21', '2025-04-25', '2025-05-01', '2025-06-02',
      '2025-08-15', '2025-11-01', '2025-12-08', '2025-12-25', '2025-12-26',
    ]);
    expect(isHoliday('2026-04-06', 'IT')).toBe(true);
    expect(isHoliday('2026-04-06', 'none')).toBe(false);
    expect(isHoliday('2026-04-07', 'IT')).toBe(false);
  });
});

describe('F1/F2/F3', () => {
  it('follows the weekday boundaries at 07, 08, 19 and 23', () => {
    const monday = '2025-04-07';
    expect(band(monday, 6, 45)).toBe('F3');
    expect(band(monday, 7, 0)).toBe('F2');
    expect(band(monday, 7, 45)).toBe('F2');
    expect(band(monday, 8, 0)).toBe('F1');
    expect(band(monday, 18, 45)).toBe('F1');
    expect(band(monday, 19, 0)).toBe('F2');
    expect(band(monday, 22, 45)).toBe('F2');
    expect(band(monday, 23, 0)).toBe('F3');
    expect(countBands(monday)).toEqual({ F1: 44, F2: 20, F3: 32 });
  });

  it('has no F1 on Saturday and only F3 on Sunday', () => {
    expect(band('2025-04-05', 6, 45)).toBe('F3');
    expect(band('2025-04-05', 7, 0)).toBe('F2');
    expect(band('2025-04-05', 12, 0)).toBe('F2');
    expect(band('2025-04-05', 23, 0)).toBe('F3');
    expect(countBands('2025-04-05')).toEqual({ F2: 64, F3: 32 });
    expect(countBands('2025-04-06')).toEqual({ F3: 96 });
  });

  it('makes national holidays all F3, Easter Monday and a Friday holiday included', () => {
    expect(countBands('2025-04-21')).toEqual({ F3: 96 });
    expect(countBands('2025-04-25')).toEqual({ F3: 96 });
    expect(countBands('2025-12-08')).toEqual({ F3: 96 }); // a Monday
    expect(countBands('2025-04-22')).toEqual({ F1: 44, F2: 20, F3: 32 });
  });

  it('reads the legal time on DST days: the long Sunday is all F3, the short Monday after keeps its bands', () => {
    expect(countBands('2025-10-26')).toEqual({ F3: 100 });
    expect(countBands('2025-03-30')).toEqual({ F3: 92 });
    expect(countBands('2025-10-27')).toEqual({ F1: 44, F2: 20, F3: 32 });
    // The same wall hour twice on 26 October is F3 both times.
    for (const t of instantsOfWallTime('2025-10-26', 2, 15, ROME)) expect(bandOf(t, ITALIAN_F123, ROME)).toBe('F3');
  });
});
