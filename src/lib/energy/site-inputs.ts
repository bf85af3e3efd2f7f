/**
 * From what the site stores and knows to what the planner takes: the consumption history per
 * slot from the energy ledger, the panel array of the site's settings, and plan inputs moved on
 * to the slot of now.
 */
import { SLOT_MS, slotStart } from '../tariff/slot';
import type { SlotHistory } from './base-load';
import type { PlanInputs } from './planner';
import type { SolarSite } from './solar/pv-model';

/** One meter's energy in one slot, as the ledger gives it (src/lib/store/queries.ts). */
export interface LedgerSlot {
  readonly meterId: string;
  readonly start: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** mWh in one 15-minute slot → average W. */
const MWH_TO_W = 3_600_000 / SLOT_MS / 1000;

/**
 * Average power per slot of the given meters together, over `count` slots from `from`: null
 * where none of them recorded anything (no data, which the predictor skips, rather than zero).
 */
export function meterHistory(slots: readonly LedgerSlot[], meterIds: ReadonlySet<string>, from: number, count: number): SlotHistory {
  if (from % SLOT_MS !== 0) throw new Error('history: slots start on the 15-minute grid');
  const watts: (number | null)[] = new Array<number | null>(count).fill(null);
  for (const s of slots) {
    if (!meterIds.has(s.meterId)) continue;
    const i = (s.start - from) / SLOT_MS;
    if (!Number.isInteger(i) || i < 0 || i >= count) continue;
    watts[i] = (watts[i] ?? 0) + (s.importMwh - s.exportMwh) * MWH_TO_W;
  }
  return { start: from, watts };
}

/** The panels of the site's settings, for the forecast: their azimuth is from north there, from south here. */
export function solarSiteOf(location: { readonly latitude: number; readonly longitude: number; readonly peakWatts: number; readonly tiltDeg: number; readonly azimuthDeg: number }): SolarSite {
  // 180° (south) from north is 0° from south; east (90°) is −90°, west (270°) is +90°.
  let azimuth = location.azimuthDeg - 180;
  if (azimuth > 180) azimuth -= 360;
  if (azimuth < -180) azimuth += 360;
  return { latitude: location.latitude, longitude: location.longitude, arrays: [{ kwp: location.peakWatts / 1000, tiltDeg: location.tiltDeg, azimuthDeg: azimuth }] };
}

/**
 * The inputs from the slot of `now` on: the leading slots that have passed are dropped (a plan
 * must start in the slot of now). Undefined when nothing of the horizon is left.
 */
export function inputsFrom(inputs: PlanInputs, now: number): PlanInputs | undefined {
  const start = slotStart(now);
  const skip = (start - inputs.start) / SLOT_MS;
  if (skip === 0) return inputs;
  if (skip < 0 || skip >= inputs.price.length) return undefined;
  return {
    start,
    price: inputs.price.slice(skip),
    ...(inputs.feedIn ? { feedIn: inputs.feedIn.slice(skip) } : {}),
    solarW: inputs.solarW.slice(skip),
    baseW: inputs.baseW.slice(skip),
    ...(inputs.cogenW ? { cogenW: inputs.cogenW.slice(skip) } : {}),
    importLimitW: typeof inputs.importLimitW === 'number' ? inputs.importLimitW : inputs.importLimitW.slice(skip),
  };
}
