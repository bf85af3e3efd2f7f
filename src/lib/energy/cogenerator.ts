/**
 * The co-generator (micro-CHP) in the plan. It is heat-led: it makes electricity while it makes
 * the heat someone needs, so its output is not ours to schedule but the user's thermal schedule
 * or demand. Its own meter tells whether it runs and what it gives now.
 */
import { SLOT_MS } from '../tariff/slot';

export interface Cogenerator {
  /** Electrical output at full load, W. */
  readonly ratedElectricW: number;
  /** Thermal output at full load, W. */
  readonly ratedThermalW: number;
}

/** When it runs: periods at a fraction of full load, or a thermal demand per slot. */
export type CogenDemand =
  | { readonly kind: 'schedule'; readonly periods: readonly { readonly start: number; readonly end: number; readonly level?: number }[] }
  | { readonly kind: 'thermal'; readonly start: number; readonly thermalW: readonly number[] };

export interface CogenLive {
  /** Electrical output now, W (≥ 0). */
  readonly outputW: number;
  readonly status: 'running' | 'off' | 'fault';
}

/** From the co-generator's meter: it measures import as positive, so generation is negative. */
export function cogenLiveFromMeter(watts: number, relayOn: boolean, noVoltage = false): CogenLive {
  const outputW = Math.max(0, -watts);
  if (noVoltage) return { outputW: 0, status: 'fault' };
  return { outputW, status: relayOn && outputW > 20 ? 'running' : 'off' };
}

/**
 * Expected electrical output per slot, W. With a buffer tank a heat-led unit delivers on average
 * the demanded heat whether it modulates or cycles, so its average electrical output is the rated
 * output times the share of full thermal load asked for (capped at 1). A fault holds it at 0
 * until the meter says otherwise; a measured output replaces the first slot's figure.
 */
export function cogenForecast(unit: Cogenerator, demand: CogenDemand, start: number, count: number, live?: CogenLive): number[] {
  if (!(unit.ratedElectricW > 0) || !(unit.ratedThermalW > 0)) throw new Error('co-generator: rated outputs must be positive');
  const out = new Array<number>(count).fill(0);
  if (live?.status === 'fault') return out;
  for (let i = 0; i < count; i++) {
    const s = start + i * SLOT_MS;
    const e = s + SLOT_MS;
    if (demand.kind === 'schedule') {
      let share = 0;
      for (const p of demand.periods) {
        const overlap = Math.max(0, Math.min(e, p.end) - Math.max(s, p.start));
        share += (overlap / SLOT_MS) * Math.min(1, Math.max(0, p.level ?? 1));
      }
      out[i] = unit.ratedElectricW * Math.min(1, share);
    } else {
      const k = Math.round((s - demand.start) / SLOT_MS);
      const heat = demand.thermalW[k] ?? 0;
      out[i] = unit.ratedElectricW * Math.min(1, Math.max(0, heat) / unit.ratedThermalW);
    }
  }
  if (live && count > 0) out[0] = live.status === 'running' ? live.outputW : 0;
  return out;
}
