/**
 * Putting the planner's inputs on one grid: prices (PriceSlot[] from the price providers),
 * forecasts (PowerSlot[]), the base load and the co-generator, all from the slot of now. Every
 * array is aligned by absolute time, never by index (the EMHASS lesson: misaligned arrays plan
 * the wrong hours). Missing prices are filled and said so, so that a dead price API still plans.
 */
import type { TariffSlot } from '../tariff/price-service';
import { type PriceSlot, SLOT_MS, slotStart } from '../tariff/slot';
import type { PlanInputs } from './planner';

/** A power that holds on average over `[start, end)`, W. */
export interface PowerSlot {
  readonly start: number;
  readonly end: number;
  readonly watts: number;
}

/**
 * The all-in prices of the tariff (energy, grid fee, excise and VAT per kWh imported; the feed-in
 * rate) as the planner wants them: what a kWh really costs or earns in each slot.
 */
export function tariffPrices(slots: readonly TariffSlot[]): { prices: PriceSlot[]; feedIn: PriceSlot[] } {
  return {
    prices: slots.map((s) => ({ start: s.start, end: s.end, price: s.importPrice })),
    feedIn: slots.map((s) => ({ start: s.start, end: s.end, price: s.feedInPrice })),
  };
}

export interface AlignedPrices {
  readonly price: number[];
  /** Slots whose price was not known and was filled. */
  readonly estimated: number;
}

/**
 * Prices for `count` slots from `start`. A slot with no price takes `fallback(slotStart)` (a
 * time-of-use tariff, say), else the price of the same slot a day earlier, else the mean.
 */
export function alignPrices(prices: readonly PriceSlot[], start: number, count: number, fallback?: (slotStartMs: number) => number | undefined): AlignedPrices {
  const known = new Map<number, number>();
  for (const p of prices) {
    if (!Number.isFinite(p.price)) continue;
    // Longer slots (hourly prices) hold for each of their quarters.
    for (let s = slotStart(p.start); s < p.end; s += SLOT_MS) known.set(s, p.price);
  }
  const values = [...known.values()];
  const mean = values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
  const price: number[] = [];
  let estimated = 0;
  for (let i = 0; i < count; i++) {
    const s = start + i * SLOT_MS;
    let v = known.get(s);
    if (v === undefined) {
      estimated++;
      v = fallback?.(s) ?? known.get(s - 86_400_000) ?? known.get(s - 2 * 86_400_000) ?? mean;
      if (v === undefined) throw new Error('no price known and no fallback tariff: cannot plan');
    }
    price.push(v);
  }
  return { price, estimated };
}

/** Average power over each slot from `start`, W; undefined where the forecast says nothing. */
export function alignPower(slots: readonly PowerSlot[], start: number, count: number): (number | undefined)[] {
  const energy = new Float64Array(count);
  const covered = new Float64Array(count);
  for (const p of slots) {
    if (!Number.isFinite(p.watts) || !(p.end > p.start)) continue;
    const first = Math.max(0, Math.floor((p.start - start) / SLOT_MS));
    const last = Math.min(count - 1, Math.floor((p.end - 1 - start) / SLOT_MS));
    for (let i = first; i <= last; i++) {
      const s = start + i * SLOT_MS;
      const overlap = Math.max(0, Math.min(s + SLOT_MS, p.end) - Math.max(s, p.start));
      energy[i] = (energy[i] ?? 0) + p.watts * overlap;
      covered[i] = (covered[i] ?? 0) + overlap;
    }
  }
  return Array.from(energy, (e, i) => ((covered[i] ?? 0) >= SLOT_MS * 0.999 ? e / (covered[i] ?? 1) : undefined));
}

export interface InputSources {
  readonly now: number;
  /** Plan up to here, ms (rounded down to the grid). */
  readonly until: number;
  readonly prices: readonly PriceSlot[];
  readonly fallbackPrice?: (slotStartMs: number) => number | undefined;
  /** Export price: one value, or slots (default 0). */
  readonly feedIn?: number | readonly PriceSlot[];
  readonly solar: readonly PowerSlot[];
  /** Base load per slot from the slot of now (see predictBaseLoad). */
  readonly baseW: readonly number[];
  readonly cogenW?: readonly number[];
  readonly importLimitW: number | ((slotStartMs: number) => number);
}

export interface BuiltInputs {
  readonly inputs: PlanInputs;
  /** What was estimated, for the screen. */
  readonly notes: string[];
}

export function buildPlanInputs(src: InputSources): BuiltInputs {
  const start = slotStart(src.now);
  const count = Math.floor((src.until - start) / SLOT_MS);
  if (count < 1) throw new Error('the planning horizon ends before the current slot');
  if (src.baseW.length < count) throw new Error(`base load covers ${src.baseW.length} slots, the horizon ${count}`);
  const notes: string[] = [];
  const prices = alignPrices(src.prices, start, count, src.fallbackPrice);
  if (prices.estimated > 0) notes.push(`${prices.estimated} of ${count} slots have no published price yet; they use ${src.fallbackPrice ? 'the fallback tariff' : 'the previous day'}`);
  const feedIn = typeof src.feedIn === 'number' || src.feedIn === undefined ? new Array<number>(count).fill(src.feedIn ?? 0) : alignPrices(src.feedIn, start, count, () => 0).price;
  const solar = alignPower(src.solar, start, count);
  const missingSolar = solar.filter((v) => v === undefined).length;
  if (missingSolar > 0) notes.push(`${missingSolar} of ${count} slots have no solar forecast; they count no solar`);
  const limit = typeof src.importLimitW === 'number' ? src.importLimitW : Array.from({ length: count }, (_, i) => (src.importLimitW as (ms: number) => number)(start + i * SLOT_MS));
  return {
    inputs: {
      start,
      price: prices.price,
      feedIn,
      solarW: solar.map((v) => v ?? 0),
      baseW: src.baseW.slice(0, count),
      ...(src.cogenW ? { cogenW: src.cogenW.slice(0, count) } : {}),
      importLimitW: limit,
    },
    notes,
  };
}
