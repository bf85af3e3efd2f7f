/**
 * What each meter cost over any range, not only a billing period: today for the tiles, a day,
 * week, month or year for a load's detail. It is the bill's per-load cost (the meter's share of
 * the grid import at each slot's rates, VAT included), computed one local month at a time so a
 * year stays fast, with the months that can no longer change remembered. Each month's figure is
 * rounded once, so a range of several months may differ from a one-piece bill by a cent a month.
 */
import { type BillMeter, computeBill, type SlotEnergy } from './billing';
import type { BillingPeriod } from './period';
import { type PriceSlot, SLOT_MS } from './slot';
import { needsSpotPrices, type Tariff } from './tariff';
import { addMonths, localMonthOf, localMonthRange } from './zone';

/** A billing period over any range of whole slots, with the local months it touches. */
export function rangePeriod(from: number, to: number, timeZone: string): BillingPeriod {
  const months: string[] = [];
  const last = localMonthOf(to - 1, timeZone);
  for (let month = localMonthOf(from, timeZone); month <= last; month = addMonths(month, 1)) months.push(month);
  return { start: from, end: to, months };
}

/** `[from, to)` cut at the local month boundaries of `timeZone`. */
export function monthChunks(from: number, to: number, timeZone: string): { start: number; end: number }[] {
  const chunks: { start: number; end: number }[] = [];
  let start = from;
  while (start < to) {
    const end = Math.min(to, localMonthRange(localMonthOf(start, timeZone), timeZone).end);
    chunks.push({ start, end });
    start = end;
  }
  return chunks;
}

export interface RangeCosts {
  /** Cost of each cost centre (a meter's uid, or UNMETERED_ID), VAT included, cents. */
  readonly byCentre: ReadonlyMap<string, number>;
  /** The site's variable charges: energy, grid fees, excise and their VAT, cents (no fixed fee). */
  readonly chargesCents: number;
  /** Feed-in credit, cents (positive). */
  readonly creditCents: number;
  /** Slots priced at the tariff's fallback for want of a spot price. */
  readonly fallbackSlots: number;
  /** Slots with any energy. */
  readonly energySlots: number;
}

export interface RangeCostQuery {
  readonly tariff: Tariff;
  readonly meters: readonly BillMeter[];
  readonly from: number;
  readonly to: number;
  /** Energy up to here counts. */
  readonly now: number;
  /** The ledger's slots of the meters in `[from, to)`. */
  readonly energy: (from: number, to: number) => Promise<readonly SlotEnergy[]>;
  /** Known spot prices in `[from, to)`. */
  readonly spot: (from: number, to: number) => Promise<readonly PriceSlot[]>;
  /** Changes whenever the known prices change, so remembered months are computed again. */
  readonly revision?: string | number;
}

/** Months that ended this long ago are settled: late energy (gap filling) no longer lands in them. */
export const SETTLED_AFTER_MS = 2 * 86_400_000;

/** Remembers the costs of settled months (least recently used out first). */
export class CostCache {
  readonly #entries = new Map<string, RangeCosts>();

  constructor(readonly capacity = 64) {}

  get(key: string): RangeCosts | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: RangeCosts): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

const EMPTY: RangeCosts = { byCentre: new Map(), chargesCents: 0, creditCents: 0, fallbackSlots: 0, energySlots: 0 };

/** The costs of `[from, min(to, now))`, month by month. Throws BillingError on energy that cannot be billed. */
export async function rangeCosts(query: RangeCostQuery, cache?: CostCache): Promise<RangeCosts> {
  const { tariff, meters, now } = query;
  // The slot now is in counts as far as it has gone (computeBill stops at `now`).
  const end = Math.min(query.to, Math.ceil(now / SLOT_MS) * SLOT_MS);
  if (!(query.from < end)) return EMPTY;
  const context = `${JSON.stringify(tariff)}|${meters.map((m) => `${m.id}:${m.role}`).join(',')}|${query.revision ?? ''}`;
  const byCentre = new Map<string, number>();
  let chargesCents = 0;
  let creditCents = 0;
  let fallbackSlots = 0;
  let energySlots = 0;
  for (const chunk of monthChunks(query.from, end, tariff.timeZone)) {
    const settled = chunk.end <= now - SETTLED_AFTER_MS;
    const key = `${context}|${chunk.start}|${chunk.end}`;
    let costs = settled ? cache?.get(key) : undefined;
    if (!costs) {
      const [energy, spot] = await Promise.all([query.energy(chunk.start, chunk.end), needsSpotPrices(tariff) ? query.spot(chunk.start, chunk.end) : Promise.resolve([])]);
      const bill = computeBill({ tariff, meters, energy, spot, period: rangePeriod(chunk.start, chunk.end, tariff.timeZone), now });
      costs = {
        byCentre: new Map(bill.centres.map((c) => [c.id, c.costCents] as const)),
        chargesCents: bill.reconciliation.variableCents,
        creditCents: bill.creditCents,
        fallbackSlots: bill.fallbackSlots,
        energySlots: bill.energySlots,
      };
      if (settled) cache?.set(key, costs);
    }
    for (const [id, cents] of costs.byCentre) byCentre.set(id, (byCentre.get(id) ?? 0) + cents);
    chargesCents += costs.chargesCents;
    creditCents += costs.creditCents;
    fallbackSlots += costs.fallbackSlots;
    energySlots += costs.energySlots;
  }
  return { byCentre, chargesCents, creditCents, fallbackSlots, energySlots };
}
