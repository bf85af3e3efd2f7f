/**
 * Local calendar time in an IANA time zone, from the platform's Intl (full ICU in Chrome and in
 * Node): the wall clock of an instant, the first instant of a local day, and the instants a local
 * wall time names. Every UTC offset and transition in use today is a multiple of 15 minutes, so
 * local days and hours begin on slot boundaries; the functions rely on that and check it.
 */
import { SLOT_MS } from './slot';

/** A calendar day, `YYYY-MM-DD`. */
export type LocalDate = string;
/** A calendar month, `YYYY-MM`. */
export type LocalMonth = string;

/** The wall clock of an instant in a zone. `weekday` is ISO: 1 = Monday … 7 = Sunday. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly weekday: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the platform knows `timeZone` as an IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock of `ms` in `timeZone`, from Intl (slow: a few µs a call). */
function intlWallClock(ms: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number } {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(ms)) {
    switch (part.type) {
      case 'year': year = Number(part.value); break;
      case 'month': month = Number(part.value); break;
      case 'day': day = Number(part.value); break;
      case 'hour': hour = Number(part.value); break;
      case 'minute': minute = Number(part.value); break;
    }
  }
  return { year, month, day, hour, minute };
}

function intlOffset(ms: number, timeZone: string): number {
  const t = intlWallClock(ms, timeZone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute) - Math.floor(ms / 60_000) * 60_000;
}

/**
 * Offsets per UTC day and zone: the offset at the day's start, and where it changes if it does
 * (found by bisection, to the minute). A zone changes its offset at most once a day, so billing a
 * month asks Intl about 60 times instead of 3000.
 */
interface DayOffsets {
  readonly changeAt: number;
  readonly before: number;
  readonly after: number;
}
const offsetCache = new Map<string, Map<number, DayOffsets>>();
const OFFSET_CACHE_DAYS = 20_000;

function dayOffsets(day: number, timeZone: string): DayOffsets {
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  let entry = zone.get(day);
  if (entry) return entry;
  const start = day * DAY_MS;
  const end = start + DAY_MS;
  const before = intlOffset(start, timeZone);
  const after = intlOffset(end, timeZone);
  let changeAt = end;
  if (before !== after) {
    // To the minute: zones changed at odd minutes until recently (St John's at 00:01 until 2011).
    let lo = start; // offset `before`
    let hi = end; // offset `after`
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (intlOffset(mid, timeZone) === before) lo = mid;
      else hi = mid;
    }
    changeAt = hi;
  }
  entry = { changeAt, before, after };
  if (zone.size >= OFFSET_CACHE_DAYS) zone.clear();
  zone.set(day, entry);
  return entry;
}

/** Offset of the zone's wall clock from UTC at `ms`, in ms (+3 600 000 for CET). */
export function utcOffsetMs(ms: number, timeZone: string): number {
  const entry = dayOffsets(Math.floor(ms / DAY_MS), timeZone);
  return ms < entry.changeAt ? entry.before : entry.after;
}

/** The wall clock of `ms` in `timeZone`. */
export function localDateTime(ms: number, timeZone: string): LocalDateTime {
  formatter(timeZone); // throws RangeError for an unknown zone
  const wall = new Date(Math.floor(ms / 60_000) * 60_000 + utcOffsetMs(ms, timeZone));
  const d = wall.getUTCDay();
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), hour: wall.getUTCHours(), minute: wall.getUTCMinutes(), weekday: d === 0 ? 7 : d };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

export function formatLocalDate(year: number, month: number, day: number): LocalDate {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

/** The local calendar day that contains `ms`. */
export function localDateOf(ms: number, timeZone: string): LocalDate {
  const t = localDateTime(ms, timeZone);
  return formatLocalDate(t.year, t.month, t.day);
}

/** The local calendar month that contains `ms`. */
export function localMonthOf(ms: number, timeZone: string): LocalMonth {
  return localDateOf(ms, timeZone).slice(0, 7);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Year, month and day of a `YYYY-MM-DD` string, or undefined when it is not a real date. */
export function parseLocalDate(date: string): { year: number; month: number; day: number } | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

function requireDate(date: LocalDate): { year: number; month: number; day: number } {
  const parsed = parseLocalDate(date);
  if (!parsed) throw new RangeError(`not a calendar date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  return parsed;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `date` moved by `days` calendar days. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const { year, month, day } = requireDate(date);
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return formatLocalDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** The calendar month `months` after `month` (negative: before). */
export function addMonths(month: LocalMonth, months: number): LocalMonth {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) throw new RangeError(`not a calendar month (YYYY-MM): ${JSON.stringify(month)}`);
  const index = Number(m[1]) * 12 + Number(m[2]) - 1 + months;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${pad2((index % 12) + 1)}`;
}

/**
 * The first instant (UTC ms) of the local day `date`: local midnight, or the first wall time that
 * exists when the clocks jump over midnight (as in a few zones).
 */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const { year, month, day } = requireDate(date);
  const wall = Date.UTC(year, month - 1, day);
  let t = wall - utcOffsetMs(wall, timeZone);
  t = wall - utcOffsetMs(t, timeZone);
  t = Math.floor(t / SLOT_MS) * SLOT_MS;
  // Settle on the slot boundary where the local date turns to `date`.
  for (let guard = 0; guard < 200; guard++) {
    if (localDateOf(t, timeZone) < date) t += SLOT_MS;
    else if (localDateOf(t - SLOT_MS, timeZone) >= date) t -= SLOT_MS;
    else return t;
  }
  throw new RangeError(`cannot find the start of ${date} in ${timeZone}`);
}

/** `[start, end)` of the local day `date`, UTC ms. */
export function localDayRange(date: LocalDate, timeZone: string): { readonly start: number; readonly end: number } {
  return { start: startOfLocalDay(date, timeZone), end: startOfLocalDay(addDays(date, 1), timeZone) };
}

/** Start of every 15-minute slot of the local day `date`: 96, or 92 and 100 on DST change days. */
export function localDaySlotStarts(date: LocalDate, timeZone: string): number[] {
  const { start, end } = localDayRange(date, timeZone);
  const starts: number[] = [];
  for (let t = start; t < end; t += SLOT_MS) starts.push(t);
  return starts;
}

/** `[start, end)` of a local calendar month, UTC ms. */
export function localMonthRange(month: LocalMonth, timeZone: string): { readonly start: number; readonly end: number } {
  return { start: startOfLocalDay(`${month}-01`, timeZone), end: startOfLocalDay(`${addMonths(month, 1)}-01`, timeZone) };
}

/**
 * The instants whose wall clock in `timeZone` reads `date` `hour`:`minute`, in order: one
 * normally, two in the hour repeated when the clocks go back, none in the hour skipped when they
 * go forward.
 */
export function instantsOfWallTime(date: LocalDate, hour: number, minute: number, timeZone: string): number[] {
  const { year, month, day } = requireDate(date);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const offsets = new Set([utcOffsetMs(wall - DAY_MS, timeZone), utcOffsetMs(wall, timeZone), utcOffsetMs(wall + DAY_MS, timeZone)]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const t = wall - offset;
    const back = localDateTime(t, timeZone);
    if (Date.UTC(back.year, back.month - 1, back.day, back.hour, back.minute) === wall) found.add(t);
  }
  return [...found].sort((a, b) => a - b);
}
