/** The one shape every price adapter has. */
import type { PriceSlot } from '../slot';
import type { FetchLike } from './common';

export interface PriceProvider {
  /** For people: "Energy-Charts (IT-North)". */
  readonly label: string;
  /** Cache key: prices of different sources never mix. */
  readonly sourceKey: string;
  /** ISO 4217 code of the prices. */
  readonly currency: string;
  /** When the next day's prices usually appear, as a wall time in `timeZone`. */
  readonly publication: { readonly hour: number; readonly minute: number; readonly timeZone: string };
  /** Whether past days can be fetched (bills of past months); Tibber only offers today and tomorrow. */
  readonly history: boolean;
  /** Spot prices (currency per kWh, energy only) of the slots in `[from, to)` the provider knows. */
  fetchRange(from: number, to: number, signal?: AbortSignal): Promise<PriceSlot[]>;
}

export interface ProviderContext {
  readonly fetch: FetchLike;
  /** True when the platform knows it is offline (navigator.onLine === false). */
  readonly offline?: () => boolean;
}

/** Day-ahead results of the European market coupling appear about 12:45–13:00 CET. */
export const EU_DAY_AHEAD_PUBLICATION = { hour: 13, minute: 0, timeZone: 'Europe/Berlin' } as const;
