/**
 * The Bill screen's state: one billing period (the current one, or one before it) billed from the
 * ledger's energy and the cached prices, and the totals of the last twelve months for the chart.
 * Prices a past period lacks are fetched first (only the days the cache lacks).
 */
import { errorMessage } from '../lib/errors';
import { type Bill, computeBill } from '../lib/tariff/billing';
import { rangePeriod, SETTLED_AFTER_MS } from '../lib/tariff/costs';
import { billingPeriodAt, billingPeriodOfMonth, type BillingPeriod } from '../lib/tariff/period';
import { needsSpotPrices, type Tariff } from '../lib/tariff/tariff';
import { addMonths, localDateOf, localDayRange, type LocalMonth, localMonthRange } from '../lib/tariff/zone';
import type { PricesState } from './prices.svelte';

export interface MonthBar {
  readonly month: LocalMonth;
  readonly start: number;
  /** The month billed on its own: every line, fixed fee and VAT included, less the feed-in credit. */
  readonly totalCents: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** Months in the chart of monthly totals. */
export const MONTHS_SHOWN = 12;

export class BillState {
  /** 0: the current billing period; −1 the one before… */
  offset = $state(0);
  bill = $state.raw<Bill | undefined>(undefined);
  /** The tariff the bill was computed with. */
  tariff = $state.raw<Tariff | undefined>(undefined);
  loading = $state(false);
  error = $state<string | undefined>(undefined);
  /** Prices of the period that could not be fetched (the bill then uses the fallback for them). */
  priceProblem = $state<string | undefined>(undefined);
  months = $state.raw<readonly MonthBar[]>([]);
  readonly #prices: PricesState;
  readonly #now: () => number;
  readonly #settledMonths = new Map<string, MonthBar | null>();
  #generation = 0;

  constructor(prices: PricesState, now: () => number = () => Date.now()) {
    this.#prices = prices;
    this.#now = now;
  }

  /** The billing period shown. */
  period(tariff: Tariff = this.#prices.tariff): BillingPeriod {
    const current = billingPeriodAt(this.#now(), tariff);
    const first = current.months[0] ?? '';
    return billingPeriodOfMonth(addMonths(first, this.offset * tariff.billing.periodMonths), tariff);
  }

  show(offset: number): Promise<void> {
    this.offset = Math.min(0, Math.trunc(offset));
    return this.refresh();
  }

  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    const tariff = this.#prices.tariff;
    const meters = this.#prices.meters;
    const period = this.period(tariff);
    const now = this.#now();
    this.loading = true;
    try {
      let problem: string | undefined;
      if (needsSpotPrices(tariff) && this.#prices.source) {
        // Up to the end of today: the same range all day, so a failed fill waits before it is tried again.
        const today = localDayRange(localDateOf(now, tariff.timeZone), tariff.timeZone);
        const error = await this.#prices.ensureRange(period.start, Math.min(period.end, today.end));
        problem = error?.message;
      }
      const [energy, spot] = await Promise.all([this.#prices.energy(period.start, period.end), this.#prices.slots(period.start, period.end)]);
      const bill = computeBill({ tariff, meters, energy, spot, period, now });
      if (generation !== this.#generation) return;
      this.bill = bill;
      this.tariff = tariff;
      this.priceProblem = problem;
      this.error = undefined;
    } catch (error) {
      if (generation === this.#generation) this.error = errorMessage(error);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
    if (generation === this.#generation) await this.#refreshMonths(generation, tariff, period);
  }

  /** Each of the twelve months up to the period's last, billed on its own; settled months are kept. */
  async #refreshMonths(generation: number, tariff: Tariff, period: BillingPeriod): Promise<void> {
    const last = period.months[period.months.length - 1] ?? '';
    const now = this.#now();
    const meters = this.#prices.meters;
    const context = `${JSON.stringify(tariff)}|${meters.map((m) => `${m.id}:${m.role}`).join(',')}|${this.#prices.revision}`;
    const bars: MonthBar[] = [];
    try {
      for (let i = MONTHS_SHOWN - 1; i >= 0; i--) {
        const month = addMonths(last, -i);
        const range = localMonthRange(month, tariff.timeZone);
        if (range.start >= now) continue;
        const key = `${context}|${month}`;
        let bar = this.#settledMonths.get(key);
        if (bar === undefined) {
          const [energy, spot] = await Promise.all([this.#prices.energy(range.start, range.end), needsSpotPrices(tariff) ? this.#prices.slots(range.start, range.end) : Promise.resolve([])]);
          if (generation !== this.#generation) return;
          const bill = computeBill({ tariff, meters, energy, spot, period: rangePeriod(range.start, range.end, tariff.timeZone), now });
          bar = bill.energySlots === 0 ? null : { month, start: range.start, totalCents: bill.totalCents, importMwh: bill.importMwh, exportMwh: bill.exportMwh };
          if (range.end <= now - SETTLED_AFTER_MS) this.#settledMonths.set(key, bar);
        }
        // Months before the site has any energy have no bar.
        if (bar) bars.push(bar);
      }
    } catch (error) {
      if (generation === this.#generation) this.error = errorMessage(error);
      return;
    }
    if (generation === this.#generation) this.months = bars;
  }
}
