/**
 * The predicted base load: what the site draws besides the deferrable loads, per 15-minute slot,
 * from its own history (EMHASS's "typical" profile, evcc's 30-day profile): the mean of the same
 * local weekday and time over the last weeks, else the same local time over the last days, else
 * the mean of all history. The measured power now is blended into the first slots.
 */
import { SLOT_MS } from '../tariff/slot';
import { localClock } from './local-time';

export interface SlotHistory {
  /** Start of the first slot, ms (a multiple of SLOT_MS). */
  readonly start: number;
  /** Average power per slot, W; null or NaN where nothing was recorded. */
  readonly watts: readonly (number | null)[];
}

export type PredictionSource = 'weekday' | 'daily' | 'mean' | 'none';

export interface BaseLoadPrediction {
  readonly watts: number[];
  /** Where each slot's figure came from. */
  readonly source: PredictionSource[];
}

export interface PredictorOptions {
  /** IANA zone of the site, e.g. Europe/Rome. */
  readonly timeZone: string;
  /** Weeks of same-weekday history to average (default 4). */
  readonly weeks?: number;
  /** Days of same-time history for the fallback (default 7). */
  readonly days?: number;
}

/** Site consumption minus the metered deferrable loads, slot by slot (never below 0). */
export function baseLoadHistory(site: SlotHistory, deferrable: readonly SlotHistory[]): SlotHistory {
  return {
    start: site.start,
    watts: site.watts.map((w, i) => {
      if (w === null || Number.isNaN(w)) return null;
      let rest = w;
      for (const d of deferrable) {
        const v = d.watts[i + Math.round((site.start - d.start) / SLOT_MS)];
        if (typeof v === 'number' && !Number.isNaN(v)) rest -= v;
      }
      return Math.max(0, rest);
    }),
  };
}

export function predictBaseLoad(history: SlotHistory, start: number, count: number, options: PredictorOptions): BaseLoadPrediction {
  if (history.start % SLOT_MS !== 0 || start % SLOT_MS !== 0) throw new Error('base load: slots must start on the 15-minute grid');
  const clock = localClock(options.timeZone);
  const weeks = options.weeks ?? 4;
  const days = options.days ?? 7;
  const byWeekday = new Map<number, number[]>(); // key weekday*1440+minute → values, most recent last
  const byTime = new Map<number, number[]>();
  let sum = 0;
  let samples = 0;
  history.watts.forEach((w, i) => {
    if (w === null || !Number.isFinite(w)) return;
    const ms = history.start + i * SLOT_MS;
    if (ms >= start) return; // only the past predicts
    const t = clock(ms);
    const wk = t.weekday * 1440 + t.minuteOfDay;
    byWeekday.set(wk, [...(byWeekday.get(wk) ?? []), w]);
    if (start - ms <= days * 86_400_000) byTime.set(t.minuteOfDay, [...(byTime.get(t.minuteOfDay) ?? []), w]);
    sum += w;
    samples++;
  });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const watts: number[] = [];
  const source: PredictionSource[] = [];
  for (let i = 0; i < count; i++) {
    const t = clock(start + i * SLOT_MS);
    const same = byWeekday.get(t.weekday * 1440 + t.minuteOfDay)?.slice(-weeks);
    const daily = byTime.get(t.minuteOfDay);
    if (same && same.length > 0) {
      watts.push(mean(same));
      source.push('weekday');
    } else if (daily && daily.length > 0) {
      watts.push(mean(daily));
      source.push('daily');
    } else if (samples > 0) {
      watts.push(sum / samples);
      source.push('mean');
    } else {
      watts.push(0);
      source.push('none');
    }
  }
  return { watts, source };
}

/** Trust the meter now, the profile later: the present power fades into the prediction over `slots` slots. */
export function blendWithNow(prediction: readonly number[], nowW: number, slots = 4): number[] {
  return prediction.map((w, i) => {
    const k = Math.max(0, 1 - i / slots);
    return k * nowW + (1 - k) * w;
  });
}
