/**
 * The contracted-power guard: a state machine fed with time-stamped measurements of the site and
 * its loads, answering with the relays to switch and why. It owns no clock and does no I/O, so
 * the same code runs on the live bus, in a simulation and in property tests.
 *
 * Rules (docs/energy-management.md §1):
 * - above `shedAboveW` (by default the power the meter allows for ever) for `confirmS`, switch off
 *   the lowest-priority load that may go, one step every `stepS` seconds, or several at once when
 *   the meter's trip curve leaves no time for one at a time;
 * - never a load inside its minimum on or off time, never a non-interruptible load in the middle
 *   of its cycle, never a load the user forced on;
 * - restore shed loads one at a time, highest priority first, only when the site has been calm
 *   for `restoreAfterS` and the load's last measured power fits under `restoreBelowW` (the
 *   hysteresis band); a load that is shed again soon after its restore waits twice as long next time;
 * - every action and every notable event goes into the log with its reason.
 */
import { advanceStress, freePowerW, type GridConnection, isTripped, timeToTripS, validateConnection } from './trip-curve';

export interface GuardedLoad {
  readonly id: string;
  readonly name?: string;
  /** Higher is kept longer; the lowest priority is shed first. */
  readonly priority: number;
  /** False for programmes that must not be cut mid-cycle (washing machine, dishwasher). */
  readonly interruptible: boolean;
  /** Seconds a load stays on before the guard may switch it off (compressors, heat pumps). */
  readonly minOnS?: number;
  /** Seconds a load stays off before the guard may switch it on again. */
  readonly minOffS?: number;
  /** Power when running, W: used to judge room before the load has been seen running. */
  readonly ratedW?: number;
  /** At or below this the load is idle, W (default 10). */
  readonly standbyW?: number;
  /** False: watched and counted, never switched (default true). */
  readonly managed?: boolean;
}

export interface GuardSettings {
  readonly connection: GridConnection;
  /** Shed above this import, W (default: the free power of the trip curve). */
  readonly shedAboveW?: number;
  /** Restore only while the import plus the load stays at or below this, W (default: free power − max(300 W, 10 % of the contract)). */
  readonly restoreBelowW?: number;
  /** An overload must last this long before the first shed, s; ignores inrush (default 5). */
  readonly confirmS?: number;
  /** Between two steps, s: time for a switch to show in the measurements (default 10). */
  readonly stepS?: number;
  /** Calm needed after an overload before any load is restored or started, s (default 60). */
  readonly restoreAfterS?: number;
  /** Cap of the doubling restore delay of a load that keeps getting shed, s (default 1800). */
  readonly maxBackoffS?: number;
  /** A re-shed within this time of a restore counts as an oscillation, s (default 900). */
  readonly oscillationS?: number;
  /** Time for a meter to confirm a switch before the guard gives up on it, s (default 15). */
  readonly ackTimeoutS?: number;
  /** After a meter failed to switch, leave it alone for this long, s (default 60). */
  readonly unresponsiveS?: number;
  /** Shed several loads at once when the trip is nearer than one-at-a-time plus this, s (default 20). */
  readonly emergencyMarginS?: number;
  /** Loads drawing less than this are not worth a shed step, W (default 50). */
  readonly minShedW?: number;
  /** A non-interruptible load idle for this long has finished its cycle, s (default 600). */
  readonly cycleEndS?: number;
  /** Entries kept in the log (default 500). */
  readonly logSize?: number;
}

export interface LoadSample {
  readonly id: string;
  /** Measured active power, W (positive import). */
  readonly powerW: number;
  readonly relayOn: boolean;
  /** The load is inside a programme; derived from its power when absent. */
  readonly inCycle?: boolean;
}

export interface SiteSample {
  /** ms since the epoch. */
  readonly at: number;
  /** Import at the grid meter, W; when absent, the sum of the loads' power. */
  readonly gridW?: number;
  /** Loads whose meters answered; a missing load is not switched this step. */
  readonly loads: readonly LoadSample[];
}

export type ActionReason = 'shed' | 'emergency-shed' | 'restore' | 'start' | 'stop' | 'override';

/** Why a load on could not be shed. */
export type LockReason = 'unmanaged' | 'silent' | 'unresponsive' | 'forced-on' | 'mid-cycle' | 'min-on';

/** What a plan says of a load (the executor's reason, as data for the screens). */
export interface PlanWhy {
  readonly kind: 'run' | 'wait' | 'pause' | 'past' | 'done' | 'unplaced';
  /** The run in question (run: now; wait, pause: the next one), ms. */
  readonly from?: number;
  readonly to?: number;
  /** unplaced: the planner's reason. */
  readonly note?: string;
}

/**
 * The numbers behind a log entry, so that a screen can say it in its own language; `detail`
 * says the same in English.
 */
export interface EntryFacts {
  /** Measured import, W. */
  readonly siteW?: number;
  /** Import once the switches already sent have acted, W. */
  readonly effectiveW?: number;
  /** The threshold crossed or checked (shed above, restore below), W. */
  readonly thresholdW?: number;
  /** The load's power (shed) or expected power (restore, start), W. */
  readonly loadW?: number;
  /** Seconds to trip by the meter's curve at the measured import. */
  readonly tripS?: number;
  /** Emergency: loads shed together with this one. */
  readonly others?: number;
  /** Override: forced on or off, until when, by whom ('user', 'plan'…). */
  readonly on?: boolean;
  readonly until?: number;
  readonly by?: string;
  /** Start and stop: what the plan said. */
  readonly plan?: PlanWhy;
  /** cannot-shed: the loads that are on and why they stay. */
  readonly locked?: readonly { readonly loadId: string; readonly why: LockReason; readonly leftS?: number }[];
  /** no-ack, refused: seconds waited, seconds left alone; the meter's answer. */
  readonly waitedS?: number;
  readonly holdS?: number;
  readonly answer?: string;
  /** limit: the new contract and free power, W. */
  readonly contractW?: number;
  readonly freeW?: number;
}

export interface GuardAction {
  readonly at: number;
  readonly loadId: string;
  readonly on: boolean;
  readonly reason: ActionReason;
  /** For people: why, with the numbers. */
  readonly detail: string;
  readonly facts: EntryFacts;
}

export type NoticeKind = 'overload' | 'back-under' | 'cannot-shed' | 'no-ack' | 'refused' | 'external-switch' | 'override-set' | 'override-ended' | 'model-trip' | 'clock' | 'limit';

export type GuardLogEntry =
  | ({ readonly kind: 'action' } & GuardAction)
  | { readonly kind: NoticeKind; readonly at: number; readonly loadId?: string; readonly detail: string; readonly facts: EntryFacts };

/** One guarded load as the screens show it. */
export interface GuardLoadStatus {
  readonly loadId: string;
  readonly managed: boolean;
  /** Undefined until its meter has answered. */
  readonly relayOn: boolean | undefined;
  readonly powerW: number;
  readonly inCycle: boolean;
  /** A switch was sent and its effect not yet seen. */
  readonly pending: boolean;
  /** Left alone after a failed switch, until (ms). */
  readonly unresponsiveUntil: number | undefined;
  readonly wanted: { readonly on: boolean; readonly reason: string; readonly why?: PlanWhy } | undefined;
}

export type Zone = 'normal' | 'over' | 'tolerated' | 'critical';

export interface GuardStatus {
  readonly at: number;
  /** Measured import, W. */
  readonly siteW: number;
  /** Import once the switches already sent have acted, W. */
  readonly effectiveW: number;
  readonly shedAboveW: number;
  readonly restoreBelowW: number;
  readonly freeW: number;
  /** normal: under the shed threshold; over: above it but inside the free power; tolerated: in the curve's first band; critical: higher. */
  readonly zone: Zone;
  /** Seconds to trip at the present import, by the model of the meter; Infinity when none. */
  readonly timeToTripS: number;
  readonly stress: readonly number[];
  readonly shed: readonly { readonly loadId: string; readonly since: number; readonly powerW: number }[];
  readonly overrides: readonly { readonly loadId: string; readonly on: boolean; readonly until: number; readonly reason: string }[];
  readonly loads: readonly GuardLoadStatus[];
}

interface LoadState {
  readonly config: GuardedLoad;
  seen: boolean;
  relayOn: boolean | undefined;
  powerW: number;
  /** When the relay last changed, as the guard knows it (observed, so never earlier than the truth). */
  lastSwitchAt: number;
  pending: { on: boolean; at: number; powerBeforeW: number; expectedW: number } | undefined;
  unresponsiveUntil: number;
  shed: { at: number; powerW: number } | undefined;
  strikes: number;
  lastRestoreAt: number;
  /** What a plan wants (undefined: leave the relay as the user left it). */
  wanted: { on: boolean; reason: string; expectedW: number; why: PlanWhy | undefined } | undefined;
  override: { on: boolean; until: number; reason: string; before: boolean | undefined } | undefined;
  /** A forced-on time ended on a load that was off before: switch it off once. */
  revertOff: boolean;
  inCycle: boolean;
  lastActiveAt: number;
  /** Power last measured while running, W: what a restore will add. */
  lastOnW: number;
}

function defined<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

const fmtW = (w: number) => `${Math.round(w)} W`;
const fmtS = (s: number) => (Number.isFinite(s) ? `${Math.round(s)} s` : 'never');

export class ContractGuard {
  #connection: GridConnection;
  #freeW: number;
  #shedAboveW: number;
  #restoreBelowW: number;
  readonly #settings: GuardSettings;
  #s: Required<Omit<GuardSettings, 'connection' | 'shedAboveW' | 'restoreBelowW'>>;
  #shedding = true;
  readonly #loads = new Map<string, LoadState>();
  readonly #log: GuardLogEntry[] = [];
  #stress: number[];
  #lastAt: number | undefined;
  #lastSiteW = 0;
  #siteW = 0;
  #effectiveW = 0;
  #overSince: number | undefined;
  #lastOverAt = -Infinity;
  #lastShedAt = -Infinity;
  #lastActionAt = -Infinity;
  #cannotShedLogged = false;
  #modelTripLogged = false;

  constructor(settings: GuardSettings, loads: readonly GuardedLoad[]) {
    this.#settings = settings;
    validateConnection(settings.connection);
    this.#connection = settings.connection;
    this.#freeW = freePowerW(settings.connection);
    this.#shedAboveW = settings.shedAboveW ?? this.#freeW;
    this.#restoreBelowW = settings.restoreBelowW ?? this.#freeW - Math.max(300, 0.1 * settings.connection.contractW);
    if (!(this.#restoreBelowW < this.#shedAboveW)) throw new Error(`restore threshold ${fmtW(this.#restoreBelowW)} must be below the shed threshold ${fmtW(this.#shedAboveW)}`);
    this.#s = {
      confirmS: defined(settings.confirmS, 5),
      stepS: defined(settings.stepS, 10),
      restoreAfterS: defined(settings.restoreAfterS, 60),
      maxBackoffS: defined(settings.maxBackoffS, 1800),
      oscillationS: defined(settings.oscillationS, 900),
      ackTimeoutS: defined(settings.ackTimeoutS, 15),
      unresponsiveS: defined(settings.unresponsiveS, 60),
      emergencyMarginS: defined(settings.emergencyMarginS, 20),
      minShedW: defined(settings.minShedW, 50),
      cycleEndS: defined(settings.cycleEndS, 600),
      logSize: defined(settings.logSize, 500),
    };
    this.#stress = settings.connection.bands.map(() => 0);
    for (const load of loads) this.addLoad(load);
  }

  /** Adds a load, or replaces its configuration keeping what the guard knows of it. */
  addLoad(config: GuardedLoad): void {
    const old = this.#loads.get(config.id);
    this.#loads.set(config.id, {
      config,
      seen: old?.seen ?? false,
      relayOn: old?.relayOn,
      powerW: old?.powerW ?? 0,
      lastSwitchAt: old?.lastSwitchAt ?? -Infinity,
      pending: old?.pending,
      unresponsiveUntil: old?.unresponsiveUntil ?? -Infinity,
      shed: old?.shed,
      strikes: old?.strikes ?? 0,
      lastRestoreAt: old?.lastRestoreAt ?? -Infinity,
      wanted: old?.wanted,
      override: old?.override,
      revertOff: old?.revertOff ?? false,
      inCycle: old?.inCycle ?? false,
      lastActiveAt: old?.lastActiveAt ?? -Infinity,
      lastOnW: old?.lastOnW ?? 0,
    });
  }

  /**
   * A new limit from now on (a contract changed, or a limit that depends on the hour: the ARERA
   * trial's 6 kW in F3 hours). The meter's memory of recent overloads is kept.
   */
  setConnection(connection: GridConnection, at: number): void {
    validateConnection(connection);
    const free = freePowerW(connection);
    const shed = this.#settings.shedAboveW ?? free;
    const restore = this.#settings.restoreBelowW ?? free - Math.max(300, 0.1 * connection.contractW);
    if (!(restore < shed)) throw new Error(`restore threshold ${fmtW(restore)} must be below the shed threshold ${fmtW(shed)}`);
    if (connection.bands.length !== this.#connection.bands.length) this.#stress = connection.bands.map(() => 0);
    this.#connection = connection;
    this.#freeW = free;
    this.#shedAboveW = shed;
    this.#restoreBelowW = restore;
    this.#note('limit', at, `limit now ${fmtW(connection.contractW)} contracted, ${fmtW(free)} free`, undefined, { contractW: connection.contractW, freeW: free });
  }

  /**
   * Shedding off: the guard watches, logs overloads and still starts planned loads only when
   * there is room, but switches nothing off to stay under the limit.
   */
  setShedding(enabled: boolean): void {
    this.#shedding = enabled;
  }

  get shedding(): boolean {
    return this.#shedding;
  }

  /** New timings from now on (the user changed them); what the guard knows of the loads stays. */
  setTiming(timing: Partial<Pick<GuardSettings, 'confirmS' | 'stepS' | 'restoreAfterS' | 'maxBackoffS' | 'oscillationS' | 'ackTimeoutS' | 'unresponsiveS' | 'emergencyMarginS' | 'minShedW' | 'cycleEndS'>>): void {
    const next = { ...this.#s };
    for (const [key, value] of Object.entries(timing) as [keyof typeof next, number | undefined][]) {
      if (value === undefined) continue;
      if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`${key} must be a finite number ≥ 0, got ${value}`);
      next[key] = value;
    }
    this.#s = next;
  }

  get timing(): Readonly<Required<Omit<GuardSettings, 'connection' | 'shedAboveW' | 'restoreBelowW'>>> {
    return this.#s;
  }

  get connection(): GridConnection {
    return this.#connection;
  }

  removeLoad(id: string): void {
    this.#loads.delete(id);
  }

  get log(): readonly GuardLogEntry[] {
    return this.#log;
  }

  /**
   * The user forces a load on or off until `until` (ms). The guard switches it as soon as its
   * minimum on/off time allows, never sheds a load forced on, and goes back to automatic after.
   */
  override(loadId: string, on: boolean, until: number, at: number, reason = 'user'): void {
    const load = this.#require(loadId);
    load.override = { on, until, reason, before: load.override ? load.override.before : load.shed ? true : load.relayOn };
    load.revertOff = false;
    if (on) load.shed = undefined;
    this.#note('override-set', at, `${this.#name(load)} forced ${on ? 'on' : 'off'} until ${new Date(until).toISOString()} (${reason})`, loadId, { on, until, by: reason });
  }

  /**
   * The user switched a load by hand (the caller sends the command): it stays so until `until`
   * as an override, and the guard waits for the meter to confirm like for its own switches.
   */
  manual(loadId: string, on: boolean, until: number, at: number): void {
    this.override(loadId, on, until, at, 'user');
    this.sending(loadId, on, at);
  }

  /**
   * A command forced by the user goes out to the meter now (after those before it to the same
   * meter were answered): the guard waits for its effect and logs it.
   */
  sending(loadId: string, on: boolean, at: number): void {
    const load = this.#require(loadId);
    const until = load.override?.until;
    const action: GuardAction = {
      at,
      loadId,
      on,
      reason: 'override',
      detail: `${this.#name(load)} switched ${on ? 'on' : 'off'} by hand${until !== undefined ? `, kept so until ${new Date(until).toISOString()}` : ''}`,
      facts: { on, by: 'user', loadW: load.powerW, ...(until !== undefined ? { until } : {}) },
    };
    this.#push({ kind: 'action', ...action });
    load.pending = { on, at, powerBeforeW: load.powerW, expectedW: on ? this.#expectedW(load) : 0 };
    this.#lastActionAt = Math.max(this.#lastActionAt, at);
  }

  /**
   * The meter refused a switch, or did not answer it: the guard stops waiting for it, leaves the
   * meter alone for a while (the next load is shed instead) and logs why.
   */
  refused(loadId: string, at: number, answer: string): void {
    const load = this.#loads.get(loadId);
    if (!load?.pending) return;
    const on = load.pending.on;
    if (!on) load.shed = undefined;
    load.pending = undefined;
    load.unresponsiveUntil = at + this.#s.unresponsiveS * 1000;
    this.#note('refused', at, `${this.#name(load)} was not switched ${on ? 'on' : 'off'}: ${answer}; left alone for ${this.#s.unresponsiveS} s`, loadId, { on, answer, holdS: this.#s.unresponsiveS });
  }

  clearOverride(loadId: string, at: number): void {
    const load = this.#require(loadId);
    if (!load.override) return;
    load.override = undefined;
    this.#note('override-ended', at, `${this.#name(load)} back to automatic`, loadId, { by: 'user' });
  }

  /**
   * A plan wants a load on or off (the plan executor calls this). Switching on waits for room
   * like a restore; switching off never cuts a non-interruptible load mid-cycle.
   */
  want(loadId: string, on: boolean, reason: string, expectedW?: number, why?: PlanWhy): void {
    const load = this.#require(loadId);
    load.wanted = { on, reason, expectedW: expectedW ?? load.config.ratedW ?? 0, why };
    if (!on) load.shed = undefined;
  }

  /** The plan no longer cares: the relay stays as it is. */
  release(loadId: string): void {
    this.#require(loadId).wanted = undefined;
  }

  status(): GuardStatus {
    const at = this.#lastAt ?? 0;
    const shed = [...this.#loads.values()].filter((l) => l.shed).map((l) => ({ loadId: l.config.id, since: l.shed?.at ?? 0, powerW: l.shed?.powerW ?? 0 }));
    const overrides = [...this.#loads.values()].flatMap((l) => (l.override ? [{ loadId: l.config.id, on: l.override.on, until: l.override.until, reason: l.override.reason }] : []));
    const loads = [...this.#loads.values()].map((l) => ({
      loadId: l.config.id,
      managed: l.config.managed !== false,
      relayOn: l.relayOn,
      powerW: l.powerW,
      inCycle: l.inCycle,
      pending: l.pending !== undefined,
      unresponsiveUntil: Number.isFinite(l.unresponsiveUntil) && l.unresponsiveUntil > at ? l.unresponsiveUntil : undefined,
      wanted: l.wanted ? { on: l.wanted.on, reason: l.wanted.reason, ...(l.wanted.why ? { why: l.wanted.why } : {}) } : undefined,
    }));
    return {
      at,
      siteW: this.#siteW,
      effectiveW: this.#effectiveW,
      shedAboveW: this.#shedAboveW,
      restoreBelowW: this.#restoreBelowW,
      freeW: this.#freeW,
      zone: this.#zone(this.#siteW),
      timeToTripS: timeToTripS(this.#connection, this.#stress, this.#siteW),
      stress: [...this.#stress],
      shed,
      overrides,
      loads,
    };
  }

  /** Feed one measurement; returns the switches to make now. */
  step(sample: SiteSample): GuardAction[] {
    const at = sample.at;
    if (this.#lastAt !== undefined && at < this.#lastAt) {
      this.#note('clock', at, `measurement at ${new Date(at).toISOString()} is older than the last one; ignored`, undefined, {});
      return [];
    }
    const dtS = this.#lastAt === undefined ? 0 : (at - this.#lastAt) / 1000;
    this.#lastAt = at;

    this.#observe(sample);
    const siteW = sample.gridW ?? sample.loads.reduce((sum, l) => sum + l.powerW, 0);
    // Zero-order hold with the larger of the two ends: never kinder to the site than the meter.
    this.#stress = advanceStress(this.#connection, this.#stress, Math.max(this.#lastSiteW, siteW), dtS);
    this.#lastSiteW = siteW;
    this.#siteW = siteW;
    if (isTripped(this.#stress) && !this.#modelTripLogged) {
      this.#modelTripLogged = true;
      this.#note('model-trip', at, `by the trip curve the meter should have tripped at ${fmtW(siteW)}; check the curve against the meter`, undefined, { siteW });
    }
    this.#expireOverrides(at);

    let effectiveW = siteW;
    for (const load of this.#loads.values()) {
      if (load.pending) effectiveW += load.pending.on ? load.pending.expectedW : -load.pending.powerBeforeW;
    }
    const actions: GuardAction[] = [];
    const emit = (load: LoadState, on: boolean, reason: ActionReason, detail: string, facts: EntryFacts) => {
      const action: GuardAction = { at, loadId: load.config.id, on, reason, detail, facts };
      actions.push(action);
      this.#push({ kind: 'action', ...action });
      const expectedW = on ? this.#expectedW(load) : 0;
      load.pending = { on, at, powerBeforeW: load.powerW, expectedW };
      effectiveW += on ? expectedW : -load.powerW;
      this.#lastActionAt = at;
      if (!on && (reason === 'shed' || reason === 'emergency-shed')) {
        if (at - load.lastRestoreAt < this.#s.oscillationS * 1000) load.strikes++;
        else load.strikes = 0;
        load.shed = { at, powerW: load.powerW };
        this.#lastShedAt = at;
      }
      if (on && reason === 'restore') {
        load.shed = undefined;
        load.lastRestoreAt = at;
      }
    };

    // 1. What the user forced, and what a plan wants off.
    for (const load of this.#loads.values()) {
      if (!this.#switchable(load, at)) continue;
      const minOk = this.#minTimeOk(load, at);
      if (load.override) {
        if (load.relayOn !== load.override.on && minOk) emit(load, load.override.on, 'override', `${this.#name(load)} forced ${load.override.on ? 'on' : 'off'} by the ${load.override.reason}`, { on: load.override.on, until: load.override.until, by: load.override.reason });
      } else if (load.revertOff && load.relayOn === false) {
        load.revertOff = false;
      } else if (load.revertOff && minOk && (load.config.interruptible || !load.inCycle)) {
        load.revertOff = false;
        emit(load, false, 'override', `${this.#name(load)} off again: its forced-on time is over`, { on: false, by: 'end' });
      } else if (load.wanted && !load.wanted.on && load.relayOn && minOk && (load.config.interruptible || !load.inCycle)) {
        emit(load, false, 'stop', `${this.#name(load)} off: ${load.wanted.reason}`, load.wanted.why ? { plan: load.wanted.why } : {});
      }
    }

    // 2. Shed while over the threshold.
    const over = effectiveW > this.#shedAboveW;
    if (over) {
      if (this.#overSince === undefined) {
        this.#overSince = at;
        this.#cannotShedLogged = false;
        const tripS = timeToTripS(this.#connection, this.#stress, siteW);
        this.#note('overload', at, `import ${fmtW(effectiveW)} above ${fmtW(this.#shedAboveW)}; trip in ${fmtS(tripS)} at this power`, undefined, { siteW, effectiveW, thresholdW: this.#shedAboveW, tripS });
      }
      this.#lastOverAt = at;
      const candidates = this.#shedCandidates(at);
      const excess = effectiveW - this.#shedAboveW;
      const needed: LoadState[] = [];
      let covered = 0;
      for (const c of candidates) {
        if (covered >= excess) break;
        needed.push(c);
        covered += c.powerW;
      }
      const tau = timeToTripS(this.#connection, this.#stress, siteW);
      const emergency = needed.length > 0 && tau <= needed.length * this.#s.stepS + this.#s.emergencyMarginS;
      const due = (at - this.#overSince) / 1000 >= this.#s.confirmS || emergency;
      if (this.#shedding && due && candidates.length === 0 && !this.#anyPendingOff() && !this.#cannotShedLogged) {
        this.#cannotShedLogged = true;
        const locked = this.#locks(at);
        this.#note('cannot-shed', at, `import ${fmtW(effectiveW)} above ${fmtW(this.#shedAboveW)} and no load may be switched off: ${this.#whyLocked(locked)}`, undefined, { siteW, effectiveW, thresholdW: this.#shedAboveW, locked });
      }
      // With shedding off the guard only watches: the overload is logged above, nothing is switched off.
      if (this.#shedding && due && emergency) {
        for (const load of needed) emit(load, false, 'emergency-shed', `import ${fmtW(siteW)} would trip the meter in ${fmtS(tau)}: ${this.#name(load)} (${fmtW(load.powerW)}, priority ${load.config.priority}) off now with ${needed.length - 1} other(s)`, { siteW, effectiveW, thresholdW: this.#shedAboveW, loadW: load.powerW, tripS: tau, others: needed.length - 1 });
      } else if (this.#shedding && due && needed[0] && (at - this.#lastShedAt) / 1000 >= this.#s.stepS && !this.#anyPendingOff()) {
        const load = needed[0];
        emit(load, false, 'shed', `import ${fmtW(effectiveW)} above ${fmtW(this.#shedAboveW)}: ${this.#name(load)} (${fmtW(load.powerW)}, priority ${load.config.priority}) is the lowest priority that may go`, { siteW, effectiveW, thresholdW: this.#shedAboveW, loadW: load.powerW, tripS: tau });
      }
    } else if (this.#overSince !== undefined) {
      this.#overSince = undefined;
      this.#note('back-under', at, `import ${fmtW(effectiveW)} back under ${fmtW(this.#shedAboveW)}`, undefined, { siteW, effectiveW, thresholdW: this.#shedAboveW });
    }

    // 3. Restore shed loads and start wanted ones, one at a time, when calm and there is room.
    const calm = !over && (at - this.#lastOverAt) / 1000 >= this.#s.restoreAfterS && (at - this.#lastActionAt) / 1000 >= this.#s.stepS && !this.#anyPending();
    if (calm) {
      const waiting = [...this.#loads.values()]
        .filter((l) => this.#switchable(l, at) && !l.override && l.relayOn === false && (l.shed !== undefined || l.wanted?.on === true) && this.#minTimeOk(l, at) && this.#backoffOk(l, at))
        .sort((a, b) => b.config.priority - a.config.priority);
      for (const load of waiting) {
        const expected = this.#expectedW(load);
        if (effectiveW + expected > this.#restoreBelowW) continue;
        const reason: ActionReason = load.shed ? 'restore' : 'start';
        const why = reason === 'restore' ? 'restored' : `started (${load.wanted?.reason ?? 'plan'})`;
        const plan = reason === 'start' ? load.wanted?.why : undefined;
        emit(load, true, reason, `${this.#name(load)} ${why}: ${fmtW(effectiveW)} + ${fmtW(expected)} fits under ${fmtW(this.#restoreBelowW)}`, { siteW, effectiveW, thresholdW: this.#restoreBelowW, loadW: expected, ...(plan ? { plan } : {}) });
        break;
      }
    }
    this.#effectiveW = effectiveW;
    return actions;
  }

  #observe(sample: SiteSample): void {
    const at = sample.at;
    for (const load of this.#loads.values()) load.seen = false;
    for (const s of sample.loads) {
      const load = this.#loads.get(s.id);
      if (!load) continue;
      load.seen = true;
      const previous = load.relayOn;
      if (load.pending) {
        if (s.relayOn === load.pending.on) {
          load.lastSwitchAt = at;
          load.pending = undefined;
        } else if (at - load.pending.at > this.#s.ackTimeoutS * 1000) {
          this.#note('no-ack', at, `${this.#name(load)} did not switch ${load.pending.on ? 'on' : 'off'} within ${this.#s.ackTimeoutS} s; left alone for ${this.#s.unresponsiveS} s`, load.config.id, { on: load.pending.on, waitedS: this.#s.ackTimeoutS, holdS: this.#s.unresponsiveS });
          if (!load.pending.on) load.shed = undefined;
          load.pending = undefined;
          load.unresponsiveUntil = at + this.#s.unresponsiveS * 1000;
        }
      } else if (previous === undefined) {
        // First sight: since when it has been so is unknown; protect the appliance, count from now.
        load.lastSwitchAt = at;
      } else if (previous !== s.relayOn) {
        load.lastSwitchAt = at;
        if (s.relayOn && load.shed) load.shed = undefined; // someone put it back: respect that
        load.revertOff = false;
        this.#note('external-switch', at, `${this.#name(load)} switched ${s.relayOn ? 'on' : 'off'} outside the guard`, load.config.id, { on: s.relayOn });
      }
      load.relayOn = s.relayOn;
      if (load.relayOn && load.shed && !load.pending) load.shed = undefined;
      load.powerW = s.powerW;
      const standby = load.config.standbyW ?? 10;
      if (s.relayOn && s.powerW > standby) load.lastOnW = s.powerW;
      if (s.inCycle !== undefined) {
        load.inCycle = s.inCycle;
      } else if (s.relayOn && s.powerW > standby) {
        load.inCycle = true;
        load.lastActiveAt = at;
      } else if (!s.relayOn || at - load.lastActiveAt >= this.#s.cycleEndS * 1000) {
        load.inCycle = false;
      }
    }
  }

  #expireOverrides(at: number): void {
    for (const load of this.#loads.values()) {
      if (load.override && at >= load.override.until) {
        // Back to the state before the override: on through the restore path (room checks), off once.
        if (!load.override.on && load.override.before === true && load.relayOn === false) load.shed = { at, powerW: load.lastOnW };
        if (load.override.on && load.override.before === false) load.revertOff = true;
        load.override = undefined;
        this.#note('override-ended', at, `${this.#name(load)} back to automatic`, load.config.id, { by: 'time' });
      }
    }
  }

  #switchable(load: LoadState, at: number): boolean {
    return load.seen && load.config.managed !== false && load.pending === undefined && at >= load.unresponsiveUntil && load.relayOn !== undefined;
  }

  #minTimeOk(load: LoadState, at: number): boolean {
    const min = load.relayOn ? (load.config.minOnS ?? 0) : (load.config.minOffS ?? 0);
    return (at - load.lastSwitchAt) / 1000 >= min;
  }

  #backoffOk(load: LoadState, at: number): boolean {
    if (!load.shed) return true;
    const wait = Math.min(this.#s.maxBackoffS, this.#s.restoreAfterS * 2 ** load.strikes);
    return (at - load.shed.at) / 1000 >= wait;
  }

  #shedCandidates(at: number): LoadState[] {
    return [...this.#loads.values()]
      .filter((l) => this.#switchable(l, at) && l.relayOn === true && l.override?.on !== true && (l.config.interruptible || !l.inCycle) && this.#minTimeOk(l, at) && l.powerW >= this.#s.minShedW)
      .sort((a, b) => a.config.priority - b.config.priority || b.powerW - a.powerW);
  }

  #locks(at: number): { loadId: string; why: LockReason; leftS?: number }[] {
    const locks: { loadId: string; why: LockReason; leftS?: number }[] = [];
    for (const l of this.#loads.values()) {
      if (l.relayOn !== true || l.powerW < this.#s.minShedW) continue;
      const loadId = l.config.id;
      if (l.config.managed === false) locks.push({ loadId, why: 'unmanaged' });
      else if (!l.seen) locks.push({ loadId, why: 'silent' });
      else if (at < l.unresponsiveUntil) locks.push({ loadId, why: 'unresponsive' });
      else if (l.override?.on) locks.push({ loadId, why: 'forced-on' });
      else if (!l.config.interruptible && l.inCycle) locks.push({ loadId, why: 'mid-cycle' });
      else if (!this.#minTimeOk(l, at)) locks.push({ loadId, why: 'min-on', leftS: Math.ceil((l.config.minOnS ?? 0) - (at - l.lastSwitchAt) / 1000) });
    }
    return locks;
  }

  #whyLocked(locks: readonly { loadId: string; why: LockReason; leftS?: number }[]): string {
    const says: Record<LockReason, (name: string, leftS?: number) => string> = {
      unmanaged: (n) => `${n} is not managed`,
      silent: (n) => `${n}'s meter is silent`,
      unresponsive: (n) => `${n}'s meter did not switch`,
      'forced-on': (n) => `${n} is forced on`,
      'mid-cycle': (n) => `${n} is mid-cycle`,
      'min-on': (n, left) => `${n} is within its minimum on time (${left ?? 0} s left)`,
    };
    const reasons = locks.map((l) => says[l.why](this.#name(this.#require(l.loadId)), l.leftS));
    return reasons.length ? reasons.join('; ') : 'nothing switchable is on';
  }

  #anyPending(): boolean {
    for (const l of this.#loads.values()) if (l.pending) return true;
    return false;
  }

  #anyPendingOff(): boolean {
    for (const l of this.#loads.values()) if (l.pending && !l.pending.on) return true;
    return false;
  }

  #expectedW(load: LoadState): number {
    return Math.max(load.config.ratedW ?? 0, load.shed?.powerW ?? 0, load.lastOnW, load.wanted?.on ? load.wanted.expectedW : 0);
  }

  #zone(siteW: number): Zone {
    if (siteW <= this.#shedAboveW) return 'normal';
    const over = this.#connection.bands.filter((b) => siteW > b.aboveW).length;
    return over === 0 ? 'over' : over === 1 ? 'tolerated' : 'critical';
  }

  #require(id: string): LoadState {
    const load = this.#loads.get(id);
    if (!load) throw new Error(`no guarded load ${id}`);
    return load;
  }

  #name(load: LoadState): string {
    return load.config.name ?? load.config.id;
  }

  #note(kind: NoticeKind, at: number, detail: string, loadId: string | undefined, facts: EntryFacts): void {
    this.#push(loadId === undefined ? { kind, at, detail, facts } : { kind, at, loadId, detail, facts });
  }

  #push(entry: GuardLogEntry): void {
    this.#log.push(entry);
    if (this.#log.length > this.#s.logSize) this.#log.splice(0, this.#log.length - this.#s.logSize);
  }
}
