/**
 * Programmes a deferrable run can be given: typical appliance cycles as step profiles (a washing
 * machine heats, washes and spins; a dishwasher heats twice), loads that may pause between slots
 * (a car, a water heater), and a custom constant power. Figures are orders of magnitude of
 * common appliances, for planning; the user picks the nearest one or a custom power.
 */
import type { Strategy } from './planner';
import { profileDurationMs, type PowerStep, validateProfile } from './profile';

export interface ProgrammePreset {
  readonly id: string;
  readonly steps: readonly PowerStep[];
  /** May pause between 15-minute slots. */
  readonly interruptible: boolean;
}

export const PROGRAMME_PRESETS: readonly ProgrammePreset[] = [
  { id: 'washer-40', steps: [{ minutes: 15, watts: 2000 }, { minutes: 60, watts: 200 }, { minutes: 15, watts: 450 }], interruptible: false },
  { id: 'washer-60', steps: [{ minutes: 25, watts: 2200 }, { minutes: 70, watts: 200 }, { minutes: 15, watts: 500 }], interruptible: false },
  { id: 'dishwasher-eco', steps: [{ minutes: 20, watts: 1900 }, { minutes: 60, watts: 80 }, { minutes: 15, watts: 1900 }, { minutes: 45, watts: 30 }], interruptible: false },
  { id: 'dryer', steps: [{ minutes: 120, watts: 800 }], interruptible: false },
  { id: 'oven-1h', steps: [{ minutes: 15, watts: 2400 }, { minutes: 45, watts: 1200 }], interruptible: false },
  { id: 'ev-2h', steps: [{ minutes: 120, watts: 2300 }], interruptible: true },
  { id: 'water-heater-2h', steps: [{ minutes: 120, watts: 1200 }], interruptible: true },
];

export const CUSTOM_PROGRAMME = 'custom';

export function presetOf(id: string): ProgrammePreset | undefined {
  return PROGRAMME_PRESETS.find((p) => p.id === id);
}

/** A deferrable run the user asked for, as stored in the energy settings. */
export interface ProgrammeRequest {
  readonly id: string;
  /** The meter whose relay runs it. */
  readonly uid: string;
  /** A preset id, or 'custom'. */
  readonly programme: string;
  readonly profile: readonly PowerStep[];
  readonly interruptible: boolean;
  /** ms since the epoch. */
  readonly earliestStart: number;
  readonly latestEnd: number;
  readonly strategy: Strategy;
  readonly createdAt: number;
  /** Set once the run has ended ('done') or its window passed without it ('missed'). */
  readonly ended?: { readonly at: number; readonly how: 'done' | 'missed' };
}

export type ProgrammeProblem = 'unknown-programme' | 'bad-power' | 'bad-duration' | 'bad-time' | 'window-order' | 'window-short' | 'window-past' | 'window-long' | 'bad-strategy';

export class ProgrammeError extends Error {
  override readonly name = 'ProgrammeError';
  constructor(
    readonly problem: ProgrammeProblem,
    message: string,
  ) {
    super(message);
  }
}

export const STRATEGIES: readonly Strategy[] = ['cost', 'solar', 'peak'];
/** The planner looks two days ahead at most. */
export const MAX_WINDOW_MS = 48 * 3_600_000;

export interface ProgrammeForm {
  readonly uid: string;
  readonly programme: string;
  /** Custom programme: power, W, and length, minutes. */
  readonly watts?: number;
  readonly minutes?: number;
  readonly earliestStart: number;
  readonly latestEnd: number;
  readonly strategy: Strategy;
  /** The meter allows switching off mid-cycle (the registry's flag). */
  readonly meterInterruptible: boolean;
}

/**
 * Checks a run the user asked for and makes it a request: the window must hold the programme,
 * must not have ended, and must lie within the planner's two days.
 */
export function programmeRequest(form: ProgrammeForm, now: number, id: string): ProgrammeRequest {
  let profile: readonly PowerStep[];
  let interruptible: boolean;
  if (form.programme === CUSTOM_PROGRAMME) {
    const watts = form.watts ?? Number.NaN;
    const minutes = form.minutes ?? Number.NaN;
    if (!(watts > 0 && watts <= 50_000)) throw new ProgrammeError('bad-power', `a custom programme needs a power from 1 W to 50 kW, got ${watts}`);
    if (!(minutes >= 1 && minutes <= 24 * 60)) throw new ProgrammeError('bad-duration', `a custom programme lasts 1 minute to 24 hours, got ${minutes}`);
    profile = [{ minutes, watts }];
    interruptible = form.meterInterruptible;
  } else {
    const preset = presetOf(form.programme);
    if (!preset) throw new ProgrammeError('unknown-programme', `no programme called ${form.programme}`);
    profile = preset.steps;
    // A load the user marked as not to be cut mid-cycle never pauses, whatever it is.
    interruptible = preset.interruptible && form.meterInterruptible;
  }
  validateProfile(profile);
  if (!STRATEGIES.includes(form.strategy)) throw new ProgrammeError('bad-strategy', `unknown strategy ${String(form.strategy)}`);
  if (!Number.isFinite(form.earliestStart) || !Number.isFinite(form.latestEnd)) throw new ProgrammeError('bad-time', 'the earliest start and the latest end must be dates and times');
  if (!(form.latestEnd > form.earliestStart)) throw new ProgrammeError('window-order', 'the latest end must be after the earliest start');
  if (form.latestEnd <= now) throw new ProgrammeError('window-past', 'the latest end has already passed');
  const from = Math.max(form.earliestStart, now);
  if (form.latestEnd - from < profileDurationMs(profile)) throw new ProgrammeError('window-short', 'the programme does not fit between the earliest start (or now) and the latest end');
  if (form.latestEnd - now > MAX_WINDOW_MS) throw new ProgrammeError('window-long', 'the latest end must be within 48 hours');
  return { id, uid: form.uid, programme: form.programme, profile, interruptible, earliestStart: form.earliestStart, latestEnd: form.latestEnd, strategy: form.strategy, createdAt: now };
}
