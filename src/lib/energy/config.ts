/**
 * The energy manager's settings, stored with the site's history (so a backup carries them): the
 * trip curve of the grid connection and the guard's timing, per load whether the guard may
 * switch it and its minimum on and off times, the deferrable runs the user asked for, and the
 * overrides in force. Plain data, validated with messages a person can act on.
 */
import { type ProgrammeRequest, STRATEGIES } from './programmes';
import type { GridConnection } from './trip-curve';
import { validateProfile } from './profile';

export interface GuardPrefs {
  /** False: the guard watches and logs but never sheds (planned runs still start when there is room). */
  readonly shedding: boolean;
  /** What the meter allows for ever, % of the contract (Italy: 110). */
  readonly freePercent: number;
  /** Up to this, % of the contract, the meter waits `toleratedMinutes` (Italy: 133 %, about three hours). */
  readonly toleratedPercent: number;
  readonly toleratedMinutes: number;
  /** Above `toleratedPercent`, the meter trips after this, s (Italy: about two minutes). */
  readonly tripSeconds: number;
  /** Calm needed after an overload before a shed load comes back, s. */
  readonly restoreAfterS: number;
  /** How long a switch by hand holds against the guard and the plans, minutes (the dialog's default). */
  readonly manualHoldMinutes: number;
}

export interface LoadPrefs {
  /**
   * The guard may switch it off (and plans may switch it). Off until the user allows it: a
   * guessed contract must never switch off a fridge nobody told the energy manager about.
   */
  readonly managed: boolean;
  readonly minOnS: number;
  readonly minOffS: number;
}

export interface StoredOverride {
  readonly uid: string;
  readonly on: boolean;
  readonly until: number;
}

export type SolarSourceKind = 'open-meteo' | 'forecast-solar';

export interface EnergyConfig {
  readonly version: 1;
  readonly guard: GuardPrefs;
  /** By meter uid; a meter not listed has DEFAULT_LOAD_PREFS. */
  readonly loads: Readonly<Record<string, LoadPrefs>>;
  readonly programmes: readonly ProgrammeRequest[];
  readonly overrides: readonly StoredOverride[];
  readonly solarSource: SolarSourceKind;
}

export const DEFAULT_GUARD_PREFS: GuardPrefs = {
  shedding: true,
  freePercent: 110,
  toleratedPercent: 133,
  toleratedMinutes: 180,
  tripSeconds: 120,
  restoreAfterS: 60,
  manualHoldMinutes: 60,
};

export const DEFAULT_LOAD_PREFS: LoadPrefs = { managed: false, minOnS: 0, minOffS: 0 };

/** The settings with these loads allowed to be switched (tests, and the screens' shortcut). */
export function allowing(config: EnergyConfig, uids: readonly string[]): EnergyConfig {
  const loads = { ...config.loads };
  for (const uid of uids) loads[uid] = { ...(loads[uid] ?? DEFAULT_LOAD_PREFS), managed: true };
  return { ...config, loads };
}

export const DEFAULT_ENERGY_CONFIG: EnergyConfig = { version: 1, guard: DEFAULT_GUARD_PREFS, loads: {}, programmes: [], overrides: [], solarSource: 'open-meteo' };

export class EnergyConfigError extends Error {
  override readonly name = 'EnergyConfigError';
  constructor(
    /** The field at fault, e.g. `guard.tripSeconds`. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(value: unknown, path: string, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new EnergyConfigError(path, `${what} must be a number from ${min} to ${max}`);
  return value;
}

function bool(value: unknown, path: string, what: string): boolean {
  if (typeof value !== 'boolean') throw new EnergyConfigError(path, `${what} must be true or false`);
  return value;
}

export function validateGuardPrefs(input: unknown): GuardPrefs {
  const g = { ...DEFAULT_GUARD_PREFS, ...(isRecord(input) ? input : {}) };
  const freePercent = num(g.freePercent, 'guard.freePercent', 'The power allowed for ever (% of the contract)', 100, 200);
  const toleratedPercent = num(g.toleratedPercent, 'guard.toleratedPercent', 'The tolerated power (% of the contract)', 100, 300);
  if (!(toleratedPercent > freePercent)) throw new EnergyConfigError('guard.toleratedPercent', 'The tolerated power must be above the power allowed for ever');
  return {
    shedding: bool(g.shedding, 'guard.shedding', 'Shedding'),
    freePercent,
    toleratedPercent,
    toleratedMinutes: num(g.toleratedMinutes, 'guard.toleratedMinutes', 'The tolerated time (minutes)', 1, 24 * 60),
    tripSeconds: num(g.tripSeconds, 'guard.tripSeconds', 'The time to trip (seconds)', 5, 3600),
    restoreAfterS: num(g.restoreAfterS, 'guard.restoreAfterS', 'The wait before restoring (seconds)', 10, 3600),
    manualHoldMinutes: num(g.manualHoldMinutes, 'guard.manualHoldMinutes', 'The hold of a switch by hand (minutes)', 1, 7 * 24 * 60),
  };
}

export function validateLoadPrefs(input: unknown, path = 'load'): LoadPrefs {
  const l = { ...DEFAULT_LOAD_PREFS, ...(isRecord(input) ? input : {}) };
  return {
    managed: bool(l.managed, `${path}.managed`, 'Managed'),
    minOnS: num(l.minOnS, `${path}.minOnS`, 'The minimum on time (seconds)', 0, 7200),
    minOffS: num(l.minOffS, `${path}.minOffS`, 'The minimum off time (seconds)', 0, 7200),
  };
}

function validateProgramme(input: unknown, path: string): ProgrammeRequest {
  if (!isRecord(input)) throw new EnergyConfigError(path, 'a planned run must be an object');
  const text = (v: unknown, field: string) => {
    if (typeof v !== 'string' || v === '') throw new EnergyConfigError(`${path}.${field}`, `${field} must be a text`);
    return v;
  };
  const profile = input.profile;
  if (!Array.isArray(profile)) throw new EnergyConfigError(`${path}.profile`, 'the programme needs its power steps');
  try {
    validateProfile(profile as never);
  } catch (e) {
    throw new EnergyConfigError(`${path}.profile`, (e as Error).message);
  }
  const strategy = input.strategy;
  if (!STRATEGIES.includes(strategy as never)) throw new EnergyConfigError(`${path}.strategy`, `unknown strategy ${String(strategy)}`);
  const earliestStart = num(input.earliestStart, `${path}.earliestStart`, 'The earliest start', 0, 8.64e15);
  const latestEnd = num(input.latestEnd, `${path}.latestEnd`, 'The latest end', 0, 8.64e15);
  if (!(latestEnd > earliestStart)) throw new EnergyConfigError(`${path}.latestEnd`, 'the latest end must be after the earliest start');
  let ended: ProgrammeRequest['ended'];
  if (input.ended !== undefined) {
    const e = input.ended;
    if (!isRecord(e) || (e.how !== 'done' && e.how !== 'missed')) throw new EnergyConfigError(`${path}.ended`, 'the end of a run is done or missed');
    ended = { at: num(e.at, `${path}.ended.at`, 'The end', 0, 8.64e15), how: e.how };
  }
  return {
    id: text(input.id, 'id'),
    uid: text(input.uid, 'uid'),
    programme: text(input.programme, 'programme'),
    profile: (profile as { minutes: number; watts: number }[]).map((s) => ({ minutes: s.minutes, watts: s.watts })),
    interruptible: bool(input.interruptible, `${path}.interruptible`, 'Interruptible'),
    earliestStart,
    latestEnd,
    strategy: strategy as ProgrammeRequest['strategy'],
    createdAt: num(input.createdAt, `${path}.createdAt`, 'The creation time', 0, 8.64e15),
    ...(ended ? { ended } : {}),
  };
}

/** Checks settings from storage or a backup; throws EnergyConfigError naming the field. Missing parts take the defaults. */
export function validateEnergyConfig(input: unknown): EnergyConfig {
  if (!isRecord(input)) throw new EnergyConfigError('', 'the energy settings must be an object');
  if (input.version !== undefined && input.version !== 1) throw new EnergyConfigError('version', `unknown energy settings version ${String(input.version)}`);
  const loads: Record<string, LoadPrefs> = {};
  if (input.loads !== undefined) {
    if (!isRecord(input.loads)) throw new EnergyConfigError('loads', 'the loads must be an object by meter');
    for (const [uid, prefs] of Object.entries(input.loads)) loads[uid] = validateLoadPrefs(prefs, `loads.${uid}`);
  }
  const programmes = input.programmes === undefined ? [] : Array.isArray(input.programmes) ? input.programmes.map((p, i) => validateProgramme(p, `programmes.${i}`)) : undefined;
  if (!programmes) throw new EnergyConfigError('programmes', 'the planned runs must be a list');
  const ids = new Set<string>();
  for (const p of programmes) {
    if (ids.has(p.id)) throw new EnergyConfigError('programmes', `two planned runs are called ${p.id}`);
    ids.add(p.id);
  }
  const overrides: StoredOverride[] = [];
  if (input.overrides !== undefined) {
    if (!Array.isArray(input.overrides)) throw new EnergyConfigError('overrides', 'the overrides must be a list');
    input.overrides.forEach((o: unknown, i) => {
      if (!isRecord(o) || typeof o.uid !== 'string') throw new EnergyConfigError(`overrides.${i}`, 'an override names its meter');
      overrides.push({ uid: o.uid, on: bool(o.on, `overrides.${i}.on`, 'On'), until: num(o.until, `overrides.${i}.until`, 'The end of the override', 0, 8.64e15) });
    });
  }
  const solarSource = input.solarSource ?? 'open-meteo';
  if (solarSource !== 'open-meteo' && solarSource !== 'forecast-solar') throw new EnergyConfigError('solarSource', 'the solar forecast comes from open-meteo or forecast-solar');
  return { version: 1, guard: validateGuardPrefs(input.guard), loads, programmes, overrides, solarSource };
}

export function loadPrefsOf(config: EnergyConfig, uid: string): LoadPrefs {
  return config.loads[uid] ?? DEFAULT_LOAD_PREFS;
}

/** The grid connection the guard works with: the contract and the configured trip curve. */
export function connectionOf(prefs: GuardPrefs, contractW: number): GridConnection {
  // contract × percent / 100, not × (percent / 100): 3000 W at 110 % is 3300 W, not 3300.0000000000005.
  return {
    contractW,
    bands: [
      { aboveW: (contractW * prefs.freePercent) / 100, toleranceS: prefs.toleratedMinutes * 60 },
      { aboveW: (contractW * prefs.toleratedPercent) / 100, toleranceS: prefs.tripSeconds },
    ],
  };
}
