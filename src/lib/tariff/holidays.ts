/** Public holidays that time-of-use tariffs treat as Sundays. */
import { addDays, formatLocalDate, type LocalDate } from './zone';

/** The holiday calendars a band schedule can follow. */
export const HOLIDAY_CALENDARS = ['none', 'IT'] as const;
export type HolidayCalendar = (typeof HOLIDAY_CALENDARS)[number];

/** Easter Sunday of a Gregorian year (the anonymous Gregorian computus, valid for every year ≥ 1583). */
export function easterSunday(year: number): LocalDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return formatLocalDate(year, month, day);
}

/**
 * Italy's national holidays, on which the F1/F2/F3 bands are all F3 (Delibera AEEG 181/06): New
 * Year, Epiphany, Easter Monday, Liberation Day, Labour Day, Republic Day, Assumption, All Saints,
 * Immaculate Conception, Christmas and St Stephen. Local patron saints' days are not national
 * holidays and do not change the bands.
 */
export function italianHolidays(year: number): LocalDate[] {
  const fixed = ['01-01', '01-06', '04-25', '05-01', '06-02', '08-15', '11-01', '12-08', '12-25', '12-26'].map((md) => `${String(year).padStart(4, '0')}-${md}`);
  return [...fixed, addDays(easterSunday(year), 1)].sort();
}

const cache = new Map<string, ReadonlySet<LocalDate>>();

export function isHoliday(date: LocalDate, calendar: HolidayCalendar): boolean {
  if (calendar === 'none') return false;
  const year = Number(date.slice(0, 4));
  const key = `${calendar}:${year}`;
  let days = cache.get(key);
  if (!days) {
    days = new Set(italianHolidays(year));
    cache.set(key, days);
  }
  return days.has(date);
}
