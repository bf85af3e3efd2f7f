/**
 * The one time grid that prices, bills and plans share: 15-minute slots in UTC (the European
 * day-ahead market's MTU since 2025). A local day has 96 slots, or 92 and 100 on the days the
 * clocks change.
 */

/** Length of one slot, ms. */
export const SLOT_MS = 15 * 60 * 1000;

/** A price that holds over `[start, end)`. */
export interface PriceSlot {
  /** ms since the epoch (UTC), a multiple of SLOT_MS. */
  readonly start: number;
  /** ms since the epoch (UTC), exclusive; `start + SLOT_MS`. */
  readonly end: number;
  /** Currency per kWh (EUR, GBP, ...), energy component only; fees and taxes come from the tariff. */
  readonly price: number;
}

/** Start of the slot that contains `ms`. */
export function slotStart(ms: number): number {
  return Math.floor(ms / SLOT_MS) * SLOT_MS;
}
