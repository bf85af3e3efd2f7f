/**
 * Local calendar periods for charts and totals: hours, days, ISO weeks (from Monday), months,
 * years, in the device's time zone (a day may have 23 or 25 hours at the clock changes).
 */
export type CalendarUnit = 'hour' | 'day' | 'week' | 'month' | 'year';

export function startOfLocal(ms: number, unit: CalendarUnit): number {
  const d = new Date(ms);
  switch (unit) {
    case 'hour':
      d.setMinutes(0, 0, 0);
      break;
    case 'day':
      d.setHours(0, 0, 0, 0);
      break;
    case 'week': {
      d.setHours(0, 0, 0, 0);
      const sinceMonday = (d.getDay() + 6) % 7;
      d.setDate(d.getDate() - sinceMonday);
      break;
    }
    case 'month':
      d.setHours(0, 0, 0, 0);
      d.setDate(1);
      break;
    case 'year':
      d.setHours(0, 0, 0, 0);
      d.setMonth(0, 1);
      break;
  }
  return d.getTime();
}

/** `ms` moved by `n` units in local time (days keep their clock time across DST). */
export function addLocal(ms: number, unit: CalendarUnit, n: number): number {
  const d = new Date(ms);
  switch (unit) {
    case 'hour':
      return ms + n * 3_600_000;
    case 'day':
      d.setDate(d.getDate() + n);
      break;
    case 'week':
      d.setDate(d.getDate() + 7 * n);
      break;
    case 'month':
      d.setMonth(d.getMonth() + n);
      break;
    case 'year':
      d.setFullYear(d.getFullYear() + n);
      break;
  }
  return d.getTime();
}
