/**
 * The energy manager on a live site: the contracted-power guard fed with every poll cycle's
 * readings, its actions turned into relay commands (one at a time per meter; a refused or
 * unanswered command is reported and the guard told at once), the plan of the deferrable runs
 * executed through the guard, and switches by hand held as overrides for the time the user
 * chose. No clock, no timers, no storage of its own: the state layer (src/state/energy.svelte.ts)
 * calls `step` on every cycle and persists what `changed` reports.
 */
import { errorMessage } from '../errors';
import type { MeterKind } from '../store/schema';
import { connectionOf, type EnergyConfig, loadPrefsOf } from './config';
import { type LoadReading, PlanRunner } from './executor';
import { ContractGuard, type GuardedLoad, type GuardLogEntry, type GuardSettings, type GuardStatus } from './guard';
import type { DeferrableLoad, Plan, PlanInputs, SolverOptions } from './planner';
import type { ProgrammeRequest } from './programmes';
import { inputsFrom } from './site-inputs';

/** A meter of the site's registry, as the manager needs it. */
export interface SiteMeter {
  readonly uid: string;
  readonly node: number;
  readonly name: string;
  readonly kind: MeterKind;
  /** The registry's: 1 = most important, shed last. */
  readonly priority: number;
  readonly gridPoint: boolean;
  readonly interruptible: boolean;
}

/** A meter's latest verified reading. */
export interface LiveMeter {
  readonly uid: string | undefined;
  readonly node: number;
  readonly watts: number;
  readonly relayOn: boolean;
  /** Not answering: its last reading is not live. */
  readonly silent: boolean;
}

export interface SwitchAnswer {
  readonly resultName: string;
}

/** Sends a RELAY command to a meter and resolves with its ACK (rejects when it does not answer). */
export type RelaySwitch = (node: number, on: boolean) => Promise<SwitchAnswer>;

export type CommandOrigin = 'guard' | 'user';

/** A command the meter refused or did not answer. */
export interface CommandProblem {
  readonly at: number;
  readonly uid: string;
  readonly node: number;
  readonly on: boolean;
  readonly by: CommandOrigin;
  /** The meter's answer (`busy`, `stale`…) or why there was none. */
  readonly answer: string;
}

export interface ManagerOptions {
  readonly config: EnergyConfig;
  readonly contractW: number;
  readonly switchRelay: RelaySwitch;
  readonly now?: () => number;
  readonly solver?: SolverOptions;
  /** Guard timings other than the configured ones (tests). */
  readonly guard?: Partial<Omit<GuardSettings, 'connection'>>;
  /** Each entry the guard adds to its log. */
  readonly onLog?: (entry: GuardLogEntry) => void;
  readonly onProblem?: (problem: CommandProblem) => void;
}

/** What changed in a step that the state should keep. */
export interface StepResult {
  /** Programmes that ended in this step (`config` has them marked so: persist it). */
  readonly ended: readonly { readonly id: string; readonly how: 'done' | 'missed' }[];
  /** The overrides changed (one expired): persist them. */
  readonly overridesChanged: boolean;
}

/** Only loads are shed and planned: generators, storage and the grid meter are watched, never switched. */
export function isSwitchableLoad(meter: Pick<SiteMeter, 'kind' | 'gridPoint'>): boolean {
  return meter.kind === 'load' && !meter.gridPoint;
}

export class EnergyManager {
  #config: EnergyConfig;
  #contractW: number;
  readonly #guard: ContractGuard;
  readonly #runner: PlanRunner;
  readonly #switch: RelaySwitch;
  readonly #now: () => number;
  readonly #options: ManagerOptions;
  #meters = new Map<string, SiteMeter>();
  /** Last command to each node, settled: the next one waits for it. */
  readonly #commands = new Map<number, Promise<unknown>>();
  #inputs: PlanInputs | undefined;
  #plan: Plan | undefined;
  #planError: string | undefined;
  #replannedBecause: string | undefined;
  #wanted = new Set<string>();
  #lastLogged: GuardLogEntry | undefined;
  #overridesKey = '';
  readonly #restored = new Set<string>();

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#contractW = options.contractW;
    this.#switch = options.switchRelay;
    this.#now = options.now ?? (() => Date.now());
    this.#guard = new ContractGuard({ ...options.guard, connection: connectionOf(options.config.guard, options.contractW), restoreAfterS: options.guard?.restoreAfterS ?? options.config.guard.restoreAfterS }, []);
    this.#guard.setShedding(options.config.guard.shedding);
    this.#runner = new PlanRunner([], options.solver ? { solver: options.solver } : {});
    this.#applyProgrammes();
  }

  get config(): EnergyConfig {
    return this.#config;
  }

  get guard(): ContractGuard {
    return this.#guard;
  }

  get plan(): Plan | undefined {
    return this.#plan;
  }

  /** Why the plan could not be made or executed, if it could not. */
  get planError(): string | undefined {
    return this.#planError;
  }

  get replannedBecause(): string | undefined {
    return this.#replannedBecause;
  }

  get inputs(): PlanInputs | undefined {
    return this.#inputs;
  }

  status(): GuardStatus {
    return this.#guard.status();
  }

  meter(uid: string): SiteMeter | undefined {
    return this.#meters.get(uid);
  }

  /** The registry changed (names, priorities, new meters). */
  setMeters(meters: readonly SiteMeter[]): void {
    const next = new Map(meters.filter(isSwitchableLoad).map((m) => [m.uid, m]));
    for (const uid of this.#meters.keys()) if (!next.has(uid)) this.#guard.removeLoad(uid);
    this.#meters = next;
    for (const m of next.values()) this.#guard.addLoad(this.#guardedLoad(m));
    this.#restoreOverrides();
  }

  /** New settings: trip curve, timings, per-load preferences, programmes. */
  setConfig(config: EnergyConfig): void {
    const before = this.#config;
    this.#config = config;
    if (JSON.stringify(before.guard) !== JSON.stringify(config.guard)) {
      this.#guard.setConnection(connectionOf(config.guard, this.#contractW), this.#now());
      this.#guard.setTiming({ restoreAfterS: this.#options.guard?.restoreAfterS ?? config.guard.restoreAfterS });
      this.#guard.setShedding(config.guard.shedding);
    }
    for (const m of this.#meters.values()) this.#guard.addLoad(this.#guardedLoad(m));
    this.#applyProgrammes();
  }

  setContract(contractW: number): void {
    if (contractW === this.#contractW) return;
    this.#contractW = contractW;
    this.#guard.setConnection(connectionOf(this.#config.guard, contractW), this.#now());
  }

  /** The planner's inputs, as last built (prices, forecast, base load); moved on to the slot of now at each step. */
  setInputs(inputs: PlanInputs | undefined): void {
    this.#inputs = inputs;
  }

  /** One poll cycle: the guard decides, its switches go out, the plan is followed. */
  step(at: number, live: readonly LiveMeter[], gridW: number | undefined): StepResult {
    const byUid = new Map<string, LiveMeter>();
    for (const l of live) if (l.uid && !l.silent) byUid.set(l.uid, l);
    const ended = this.#followPlan(at, byUid);
    const loads = [...this.#meters.values()].flatMap((m) => {
      const l = byUid.get(m.uid);
      return l ? [{ id: m.uid, powerW: Math.max(0, l.watts), relayOn: l.relayOn }] : [];
    });
    const actions = this.#guard.step({ at, ...(gridW !== undefined && Number.isFinite(gridW) ? { gridW } : {}), loads });
    for (const a of actions) this.#send(a.loadId, a.on, 'guard').catch(() => undefined);
    this.#drainLog();
    const key = this.#overrideKey();
    const overridesChanged = key !== this.#overridesKey;
    this.#overridesKey = key;
    return { ended, overridesChanged };
  }

  /**
   * The user switched a load from its tile: the command goes out now, and the guard and the plans
   * leave the load so until `until`. Resolves with the meter's answer.
   */
  async switchByHand(node: number, uid: string | undefined, on: boolean, until: number): Promise<SwitchAnswer> {
    const meter = uid === undefined ? undefined : this.#meters.get(uid);
    // The override holds from the click; the guard waits for the effect once the command goes out
    // (after any command already on its way to this meter).
    if (meter) this.#guard.override(meter.uid, on, until, this.#now(), 'user');
    this.#drainLog();
    const sending = meter ? () => this.#guard.sending(meter.uid, on, this.#now()) : undefined;
    try {
      const answer = await this.#send(uid ?? `node ${node}`, on, 'user', node, sending);
      if (answer.resultName !== 'ok' && meter) this.#guard.clearOverride(meter.uid, this.#now());
      return answer;
    } catch (error) {
      if (meter) this.#guard.clearOverride(meter.uid, this.#now());
      throw error;
    } finally {
      this.#drainLog();
    }
  }

  /** Forces a load on or off until `until`; the guard switches it when its minimum times allow. */
  override(uid: string, on: boolean, until: number): void {
    this.#guard.override(uid, on, until, this.#now(), 'user');
    this.#drainLog();
  }

  clearOverride(uid: string): void {
    this.#guard.clearOverride(uid, this.#now());
    this.#drainLog();
  }

  /** The overrides in force, to be stored. */
  overrides(): { uid: string; on: boolean; until: number }[] {
    return this.#guard.status().overrides.map((o) => ({ uid: o.loadId, on: o.on, until: o.until }));
  }

  #overrideKey(): string {
    return this.overrides()
      .map((o) => `${o.uid}:${o.on}:${o.until}`)
      .join(',');
  }

  #guardedLoad(m: SiteMeter): GuardedLoad {
    const prefs = loadPrefsOf(this.#config, m.uid);
    const programme = this.#config.programmes.find((p) => p.uid === m.uid && !p.ended);
    const ratedW = programme ? Math.max(...programme.profile.map((s) => s.watts)) : undefined;
    return {
      id: m.uid,
      name: m.name,
      // The registry counts 1 as the most important; the guard keeps the highest longest.
      priority: 100 - m.priority,
      interruptible: m.interruptible,
      minOnS: prefs.minOnS,
      minOffS: prefs.minOffS,
      managed: prefs.managed,
      ...(ratedW !== undefined ? { ratedW } : {}),
    };
  }

  /** The stored overrides of meters seen for the first time (after a reload) hold again. */
  #restoreOverrides(): void {
    const now = this.#now();
    for (const o of this.#config.overrides) {
      if (this.#restored.has(o.uid) || !this.#meters.has(o.uid)) continue;
      this.#restored.add(o.uid);
      if (o.until > now) this.#guard.override(o.uid, o.on, o.until, now, 'user');
    }
    for (const uid of this.#meters.keys()) this.#restored.add(uid);
    this.#overridesKey = this.#overrideKey();
  }

  #activeProgrammes(): ProgrammeRequest[] {
    return this.#config.programmes.filter((p) => !p.ended);
  }

  #applyProgrammes(): void {
    const loads: DeferrableLoad[] = this.#activeProgrammes().map((p) => ({
      id: p.id,
      name: this.#meters.get(p.uid)?.name ?? p.uid,
      profile: p.profile,
      earliestStart: p.earliestStart,
      latestEnd: p.latestEnd,
      interruptible: p.interruptible,
      strategy: p.strategy,
    }));
    const known = this.#runner.loads;
    const same = known.length === loads.length && known.every((k, i) => JSON.stringify(k) === JSON.stringify(loads[i]));
    if (!same) this.#runner.setLoads(loads);
  }

  #followPlan(at: number, live: ReadonlyMap<string, LiveMeter>): { id: string; how: 'done' | 'missed' }[] {
    const active = this.#activeProgrammes().filter((p) => this.#meters.has(p.uid));
    const wanted = new Set<string>();
    const ended: { id: string; how: 'done' | 'missed' }[] = [];
    if (active.length === 0) {
      this.#plan = undefined;
      this.#planError = undefined;
    } else {
      const inputs = this.#inputs ? inputsFrom(this.#inputs, at) : undefined;
      if (!inputs) {
        this.#planError = this.#inputs ? 'the plan inputs do not reach this far; waiting for new prices and forecasts' : undefined;
      } else {
        const readings = new Map<string, LoadReading>();
        for (const p of active) {
          const l = live.get(p.uid);
          if (l) readings.set(p.id, { relayOn: l.relayOn, powerW: Math.max(0, l.watts) });
        }
        try {
          const update = this.#runner.update(at, inputs, readings);
          this.#plan = update.plan;
          this.#planError = undefined;
          if (update.replanned) this.#replannedBecause = update.because;
          const intents = new Map(update.intents.map((i) => [i.loadId, i]));
          for (const p of active) {
            const intent = intents.get(p.id);
            // A programme that has run its course gets no intent (or 'done'): the plan is over for it.
            if (!intent || intent.why.kind === 'done') {
              ended.push({ id: p.id, how: 'done' });
              continue;
            }
            if (intent.why.kind === 'unplaced' && at >= p.latestEnd) {
              ended.push({ id: p.id, how: 'missed' });
              continue;
            }
            this.#guard.want(p.uid, intent.on, intent.reason, intent.expectedW, intent.why);
            wanted.add(p.uid);
          }
        } catch (error) {
          this.#planError = errorMessage(error);
        }
      }
    }
    // Loads no plan speaks for any more are left as they are.
    for (const uid of this.#wanted) if (!wanted.has(uid) && this.#meters.has(uid) && !this.#planError) this.#guard.release(uid);
    if (!this.#planError) this.#wanted = wanted;
    if (ended.length > 0) {
      for (const e of ended) {
        const p = active.find((x) => x.id === e.id);
        if (p) this.#guard.release(p.uid);
      }
      // Ended runs stay in the settings (the screen shows them), out of the plan.
      const how = new Map(ended.map((e) => [e.id, e.how]));
      this.#config = { ...this.#config, programmes: this.#config.programmes.map((p) => (how.has(p.id) ? { ...p, ended: { at, how: how.get(p.id) ?? 'done' } } : p)) };
      this.#applyProgrammes();
    }
    return ended;
  }

  /** Commands to one meter go one after the other: a second never overtakes the first. */
  #send(uid: string, on: boolean, by: CommandOrigin, nodeHint?: number, sending?: () => void): Promise<SwitchAnswer> {
    const node = this.#meters.get(uid)?.node ?? nodeHint;
    if (node === undefined) return Promise.reject(new Error(`no meter ${uid} on this site`));
    const previous = this.#commands.get(node) ?? Promise.resolve();
    const result = previous.then(() => {
      sending?.();
      return this.#switch(node, on);
    });
    const reported = result.then(
      (answer) => {
        if (answer.resultName !== 'ok') this.#failed(uid, node, on, by, answer.resultName);
        return answer;
      },
      (error: unknown) => {
        this.#failed(uid, node, on, by, errorMessage(error));
        throw error;
      },
    );
    const settled = reported.catch(() => undefined);
    this.#commands.set(node, settled);
    void settled.then(() => {
      if (this.#commands.get(node) === settled) this.#commands.delete(node);
    });
    return reported;
  }

  #failed(uid: string, node: number, on: boolean, by: CommandOrigin, answer: string): void {
    const at = this.#now();
    if (this.#meters.has(uid)) this.#guard.refused(uid, at, answer);
    this.#drainLog();
    this.#options.onProblem?.({ at, uid, node, on, by, answer });
  }

  /** Hands the log entries added since the last call to `onLog`. */
  #drainLog(): void {
    const onLog = this.#options.onLog;
    const log = this.#guard.log;
    if (log.length === 0) return;
    const from = this.#lastLogged ? log.lastIndexOf(this.#lastLogged) + 1 : 0;
    this.#lastLogged = log[log.length - 1];
    if (onLog) for (let i = from; i < log.length; i++) onLog(log[i] as GuardLogEntry);
  }
}

