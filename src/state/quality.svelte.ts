/** Power quality of one meter over a span: voltage, frequency, THD of voltage and current, and events. */
import { addLocal, startOfLocal } from '../lib/format/calendar';
import { readEvents, readSeries, type Series } from '../lib/store/queries';
import type { EventRow, HistoryDb, RollupQuantity } from '../lib/store/schema';
import type { SeriesReader } from './history.svelte';
import type { Span } from './load-detail.svelte';

export const QUALITY_QUANTITIES = ['vrms', 'f', 'thdV', 'thdI'] as const satisfies readonly RollupQuantity[];
export type QualityQuantity = (typeof QUALITY_QUANTITIES)[number];

export class QualityState {
  uid = $state<string | undefined>(undefined);
  span = $state<Span>('day');
  series = $state.raw<Partial<Record<QualityQuantity, Series>>>({});
  events = $state.raw<readonly EventRow[]>([]);
  /** The period shown, ms. */
  range = $state.raw<{ from: number; to: number }>({ from: 0, to: 0 });
  readonly #db: HistoryDb;
  readonly #now: () => number;
  readonly #series: SeriesReader;
  #generation = 0;

  constructor(db: HistoryDb, now: () => number = () => Date.now(), series: SeriesReader = (query) => readSeries(db, query)) {
    this.#db = db;
    this.#now = now;
    this.#series = series;
  }

  async show(uid: string | undefined, span: Span = this.span): Promise<void> {
    this.uid = uid;
    this.span = span;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    const uid = this.uid;
    const from = startOfLocal(this.#now(), this.span);
    const to = Math.min(addLocal(from, this.span, 1), this.#now());
    const [events, ...series] = await Promise.all([
      readEvents(this.#db, addLocal(from, this.span, 0), to + 1, uid),
      ...QUALITY_QUANTITIES.map((quantity) => (uid ? this.#series({ uid, quantity, from, to }) : Promise.resolve(undefined))),
    ]);
    if (generation !== this.#generation) return;
    this.range = { from, to: addLocal(from, this.span, 1) };
    this.events = [...events].sort((a, b) => b.start - a.start);
    const out: Partial<Record<QualityQuantity, Series>> = {};
    QUALITY_QUANTITIES.forEach((q, k) => {
      const s = series[k];
      if (s) out[q] = s;
    });
    this.series = out;
  }
}
