/**
 * Time-of-use bands: a small schedule of rules on the local wall clock, with public holidays
 * treated as Sundays. The Italian F1/F2/F3 bands are one such schedule, built in.
 */
import { type HolidayCalendar, isHoliday } from './holidays';
import { formatLocalDate, type LocalDateTime, localDateTime } from './zone';

/** One rule: `band` applies on `days` between `from` (inclusive) and `to` (exclusive), local time. */
export interface BandRule {
  readonly band: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday; a holiday of the schedule's calendar counts as 7. */
  readonly days: readonly number[];
  /** `HH:MM`, a multiple of 15 minutes. */
  readonly from: string;
  /** `HH:MM`, a multiple of 15 minutes, later than `from`; `24:00` is the end of the day. */
  readonly to: string;
  /** Calendar months (1–12) the rule applies in; every month when absent. */
  readonly months?: readonly number[];
}

/** Plain data, stored with the tariff. The first rule that matches a slot names its band. */
export interface BandSchedule {
  /** Band names in the order bills list them. */
  readonly bands: readonly string[];
  /** The band of every slot no rule matches. */
  readonly defaultBand: string;
  readonly rules: readonly BandRule[];
  readonly holidays: HolidayCalendar;
}

const WEEKDAYS = [1, 2, 3, 4, 5] as const;

/**
 * The Italian F1/F2/F3 bands (Delibera AEEG 181/06): F1 Monday to Friday 08–19; F2 Monday to
 * Friday 07–08 and 19–23 and Saturday 07–23; F3 every other hour, all of Sunday and of the national
 * holidays. The clock is Italy's legal time, so the repeated hour in October is F3 twice.
 */
export const ITALIAN_F123: BandSchedule = {
  bands: ['F1', 'F2', 'F3'],
  defaultBand: 'F3',
  rules: [
    { band: 'F1', days: WEEKDAYS, from: '08:00', to: '19:00' },
    { band: 'F2', days: WEEKDAYS, from: '07:00', to: '08:00' },
    { band: 'F2', days: WEEKDAYS, from: '19:00', to: '23:00' },
    { band: 'F2', days: [6], from: '07:00', to: '23:00' },
  ],
  holidays: 'IT',
};

/** A schedule with a single band, for tariffs that have none. */
export const SINGLE_BAND: BandSchedule = { bands: ['all'], defaultBand: 'all', rules: [], holidays: 'none' };

/** Minutes after midnight of `HH:MM` (`24:00` allowed), or undefined when malformed. */
export function wallMinutes(time: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(time);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (Number(m[2]) > 59 || minutes > 24 * 60) return undefined;
  return minutes;
}

/** The band of a slot whose start reads `t` on the local wall clock. */
export function bandAt(t: LocalDateTime, schedule: BandSchedule): string {
  const weekday = isHoliday(formatLocalDate(t.year, t.month, t.day), schedule.holidays) ? 7 : t.weekday;
  const minutes = t.hour * 60 + t.minute;
  for (const rule of schedule.rules) {
    if (!rule.days.includes(weekday)) continue;
    if (rule.months && !rule.months.includes(t.month)) continue;
    const from = wallMinutes(rule.from) ?? 0;
    const to = wallMinutes(rule.to) ?? 0;
    if (minutes >= from && minutes < to) return rule.band;
  }
  return schedule.defaultBand;
}

/** The band of the slot that starts at `ms`. */
export function bandOf(ms: number, schedule: BandSchedule, timeZone: string): string {
  return bandAt(localDateTime(ms, timeZone), schedule);
}
