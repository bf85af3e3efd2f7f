/**
 * The site at a glance from the meters' live power: what the loads consume, what the generators
 * produce, and what flows through the grid connection (measured by its meter when there is one,
 * else the balance of the others).
 */
import type { MeterKind } from '../store/schema';

export interface LivePower {
  readonly kind: MeterKind;
  readonly gridPoint: boolean;
  /** Positive import (consumption), negative export (generation). */
  readonly watts: number;
  /** Not answering: its last value is not live. */
  readonly silent: boolean;
}

export interface SitePower {
  /** W drawn by the loads (and storage charging). */
  readonly consumption: number;
  /** W produced by generators and co-generators (and storage discharging), positive. */
  readonly generation: number;
  /** W from the grid (positive) or to it (negative). */
  readonly grid: number;
  /** `grid` comes from the grid connection's own meter, not from the balance. */
  readonly gridMeasured: boolean;
  /** Meters whose values are missing from the sums. */
  readonly silent: number;
}

export function sitePower(meters: readonly LivePower[]): SitePower {
  let consumption = 0;
  let generation = 0;
  let grid: number | undefined;
  let silent = 0;
  for (const m of meters) {
    if (m.silent) {
      silent++;
      continue;
    }
    if (m.gridPoint) {
      grid = m.watts;
      continue;
    }
    if (m.watts >= 0) consumption += m.watts;
    else generation += -m.watts;
  }
  return { consumption, generation, grid: grid ?? consumption - generation, gridMeasured: grid !== undefined, silent };
}
