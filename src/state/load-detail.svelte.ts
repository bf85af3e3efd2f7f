/**
 * One load in detail: its power profile over a day, week, month or year, its energy in bars
 * (hours, days or months), the same period before for comparison, and what it cost.
 */
import { addLocal, type CalendarUnit, startOfLocal } from '../lib/format/calendar';
import { type EnergyBucket, readEnergyBuckets, readSeries, type Series } from '../lib/store/queries';
import type { HistoryDb } from '../lib/store/schema';
import type { SeriesReader } from './history.svelte';

export type Span = 'day' | 'week' | 'month' | 'year';
export const SPANS: readonly Span[] = ['day', 'week', 'month', 'year'];
const BAR_UNIT: Readonly<Record<Span, CalendarUnit>> = { day: 'hour', week: 'day', month: 'day', year: 'month' };

export interface PeriodTotals {
  readonly importWh: number;
  readonly exportWh: number;
}

const sum = (buckets: readonly EnergyBucket[]): PeriodTotals => ({
  importWh: buckets.reduce((a, b) => a + b.importMwh, 0) / 1000,
  exportWh: buckets.reduce((a, b) => a + b.exportMwh, 0) / 1000,
});

export class LoadDetailState {
  readonly uid: string;
  span = $state<Span>('day');
  /** 0: the current period; −1 the one before… */
  offset = $state(0);
  power = $state.raw<Series | undefined>(undefined);
  bars = $state.raw<readonly EnergyBucket[]>([]);
  totals = $state.raw<PeriodTotals>({ importWh: 0, exportWh: 0 });
  /** The previous period over the same elapsed part (the whole of it for past periods). */
  previous = $state.raw<PeriodTotals>({ importWh: 0, exportWh: 0 });
  loading = $state(false);
  readonly #db: HistoryDb;
  readonly #now: () => number;
  readonly #series: SeriesReader;
  #generation = 0;

  constructor(db: HistoryDb, uid: string, now: () => number = () => Date.now(), series: SeriesReader = (query) => readSeries(db, query)) {
    this.#db = db;
    this.uid = uid;
    this.#now = now;
    this.#series = series;
  }

  get from(): number {
    return addLocal(startOfLocal(this.#now(), this.span), this.span, this.offset);
  }

  get to(): number {
    return addLocal(this.from, this.span, 1);
  }

  get barUnit(): CalendarUnit {
    return BAR_UNIT[this.span];
  }

  show(span: Span, offset = 0): Promise<void> {
    this.span = span;
    this.offset = Math.min(0, offset);
    return this.refresh();
  }

  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    const from = this.from;
    const to = this.to;
    const now = this.#now();
    const end = Math.min(to, now);
    const prevFrom = addLocal(from, this.span, -1);
    const prevTo = this.offset === 0 ? prevFrom + (end - from) : from;
    const unit = this.barUnit;
    const [power, bars, previous] = await Promise.all([
      this.#series({ uid: this.uid, quantity: 'p', from, to: end }),
      readEnergyBuckets(this.#db, this.uid, from, to, (ms) => startOfLocal(ms, unit)),
      readEnergyBuckets(this.#db, this.uid, prevFrom, prevTo, (ms) => startOfLocal(ms, unit)),
    ]);
    // A later refresh (another span) won the race: drop this one.
    if (generation !== this.#generation) return;
    this.power = power;
    this.bars = bars;
    this.totals = sum(bars);
    this.previous = sum(previous);
    this.loading = false;
  }
}
