/**
 * A load's power profile: a programme is a sequence of steps (a washing machine heats, washes,
 * spins), not one constant power. On the 15-minute grid each slot of a programme has an average
 * power (its energy) and a peak (what the contracted limit sees).
 */
import { SLOT_MS } from '../tariff/slot';

export interface PowerStep {
  /** Length of the step, minutes (> 0). */
  readonly minutes: number;
  /** Power during the step, W (≥ 0). */
  readonly watts: number;
}

export interface SlotProfile {
  /** Average power over each slot the programme touches, W. */
  readonly avgW: Float64Array;
  /** Highest power inside each slot, W. */
  readonly peakW: Float64Array;
}

export function validateProfile(profile: readonly PowerStep[], what = 'profile'): void {
  if (profile.length === 0) throw new Error(`${what} has no steps`);
  for (const step of profile) {
    if (!(step.minutes > 0) || !Number.isFinite(step.minutes)) throw new Error(`${what}: a step must last a positive number of minutes, got ${step.minutes}`);
    if (!(step.watts >= 0) || !Number.isFinite(step.watts)) throw new Error(`${what}: a step's power must be a finite number of watts ≥ 0, got ${step.watts}`);
  }
}

export function profileDurationMs(profile: readonly PowerStep[]): number {
  return profile.reduce((sum, s) => sum + s.minutes * 60_000, 0);
}

export function profileEnergyWh(profile: readonly PowerStep[]): number {
  return profile.reduce((sum, s) => sum + (s.watts * s.minutes) / 60, 0);
}

/** The programme on the slot grid, starting `offsetMs` into its first slot. */
export function profileSlots(profile: readonly PowerStep[], offsetMs = 0): SlotProfile {
  const total = profileDurationMs(profile);
  const count = Math.max(1, Math.ceil((offsetMs + total) / SLOT_MS - 1e-9));
  const avgW = new Float64Array(count);
  const peakW = new Float64Array(count);
  let t = offsetMs;
  for (const step of profile) {
    let left = step.minutes * 60_000;
    while (left > 1e-6) {
      const slot = Math.min(count - 1, Math.floor(t / SLOT_MS + 1e-9));
      const inSlot = Math.min(left, (slot + 1) * SLOT_MS - t);
      avgW[slot] = (avgW[slot] ?? 0) + (step.watts * inSlot) / SLOT_MS;
      peakW[slot] = Math.max(peakW[slot] ?? 0, step.watts);
      t += inSlot;
      left -= inSlot;
    }
  }
  return { avgW, peakW };
}

/** What is left of a programme after `elapsedMs` of it have run. */
export function remainingProfile(profile: readonly PowerStep[], elapsedMs: number): PowerStep[] {
  let skip = Math.max(0, elapsedMs) / 60_000;
  const rest: PowerStep[] = [];
  for (const step of profile) {
    if (skip >= step.minutes) {
      skip -= step.minutes;
      continue;
    }
    rest.push({ minutes: step.minutes - skip, watts: step.watts });
    skip = 0;
  }
  return rest;
}
