/**
 * Executing a plan: which relays the plan wants at a given time (a pure function of the plan
 * and the clock), and a small runner that follows the programmes as they start, run and end,
 * and re-plans when prices or the forecast change or a new slot begins, never moving a
 * programme that has started. The runner's intents go to the guard (ContractGuard.want), which
 * switches a load on only when there is room.
 */
import { SLOT_MS, slotStart } from '../tariff/slot';
import { type DeferrableLoad, type LoadPlan, type Plan, plan, type PlanInputs, type SolverOptions, type StartedProgramme } from './planner';
import type { PlanWhy } from './guard';
import { profileDurationMs } from './profile';

export interface RelayIntent {
  readonly loadId: string;
  readonly on: boolean;
  /** For people and the guard's log. */
  readonly reason: string;
  /** Power the load will draw when on, W: the guard's room check. */
  readonly expectedW: number;
  /** The same reason as data, for the screens. */
  readonly why: PlanWhy;
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

function peakOf(load: DeferrableLoad): number {
  return Math.max(0, ...load.profile.map((s) => s.watts));
}

/** What the plan wants of each load's relay at `now`; a finished interruptible load is switched off. */
export function planIntents(p: Plan, loads: readonly DeferrableLoad[], now: number, finished: ReadonlySet<string> = new Set()): RelayIntent[] {
  const byId = new Map(p.loads.map((l) => [l.loadId, l]));
  const intents: RelayIntent[] = [];
  for (const load of loads) {
    const expectedW = peakOf(load);
    if (finished.has(load.id)) {
      if (load.interruptible) intents.push({ loadId: load.id, on: false, reason: `${load.name ?? load.id} done`, expectedW, why: { kind: 'done' } });
      continue;
    }
    const lp = byId.get(load.id);
    if (lp) intents.push(intentFor(lp, load, now, expectedW));
  }
  return intents;
}

function intentFor(lp: LoadPlan, load: DeferrableLoad, now: number, expectedW: number): RelayIntent {
  const name = load.name ?? load.id;
  const first = lp.runs[0];
  if (lp.status === 'unplaced' || !first) return { loadId: load.id, on: false, reason: `${name} waits: ${lp.reason ?? 'not planned'}`, expectedW, why: { kind: 'unplaced', note: lp.reason ?? 'not planned' } };
  if (!load.interruptible) {
    // An uninterruptible programme is switched on once and left on: the appliance ends it.
    if (lp.status === 'running' || now >= first.start) return { loadId: load.id, on: true, reason: `${name} planned ${hhmm(first.start)}–${hhmm(first.end)}`, expectedW, why: { kind: 'run', from: first.start, to: first.end } };
    return { loadId: load.id, on: false, reason: `${name} waits for ${hhmm(first.start)}`, expectedW, why: { kind: 'wait', from: first.start, to: first.end } };
  }
  const run = lp.runs.find((r) => now >= r.start && now < r.end);
  if (run) return { loadId: load.id, on: true, reason: `${name} planned ${hhmm(run.start)}–${hhmm(run.end)}`, expectedW, why: { kind: 'run', from: run.start, to: run.end } };
  const next = lp.runs.find((r) => r.start > now);
  return next
    ? { loadId: load.id, on: false, reason: `${name} pauses until ${hhmm(next.start)}`, expectedW, why: { kind: 'pause', from: next.start, to: next.end } }
    : { loadId: load.id, on: false, reason: `${name} past its planned runs`, expectedW, why: { kind: 'past' } };
}

export interface LoadReading {
  readonly relayOn: boolean;
  readonly powerW: number;
}

export interface RunnerOptions {
  readonly solver?: SolverOptions;
  /** A load drawing more than this is running, W (default 15). */
  readonly standbyW?: number;
  /** Forecast changes smaller than this in every slot do not re-plan, W (default 100). */
  readonly forecastToleranceW?: number;
}

export interface RunnerUpdate {
  readonly plan: Plan;
  readonly replanned: boolean;
  /** Why the plan was made again, when it was. */
  readonly because?: string;
  readonly intents: readonly RelayIntent[];
}

interface Progress {
  startedAt: number | undefined;
  doneMs: number;
  lastAt: number | undefined;
  finished: boolean;
}

/** Follows the programmes and keeps the plan fresh. Feed it the clock, the inputs and the meters. */
export class PlanRunner {
  #loads: DeferrableLoad[];
  #loadsChanged = true;
  #plan: Plan | undefined;
  #inputs: PlanInputs | undefined;
  /** The programmes the current plan knew as started. */
  #startedKey = '';
  readonly #progress = new Map<string, Progress>();
  readonly #options: RunnerOptions;

  constructor(loads: readonly DeferrableLoad[], options: RunnerOptions = {}) {
    this.#loads = [...loads];
    this.#options = options;
  }

  get plan(): Plan | undefined {
    return this.#plan;
  }

  get loads(): readonly DeferrableLoad[] {
    return this.#loads;
  }

  /** The user added, changed or removed programmes; a started one keeps its progress. */
  setLoads(loads: readonly DeferrableLoad[]): void {
    this.#loads = [...loads];
    for (const id of [...this.#progress.keys()]) if (!loads.some((l) => l.id === id)) this.#progress.delete(id);
    this.#loadsChanged = true;
  }

  /** Started programmes, as the planner needs them. */
  started(now: number, readings: ReadonlyMap<string, LoadReading>): StartedProgramme[] {
    const out: StartedProgramme[] = [];
    for (const load of this.#loads) {
      const p = this.#progress.get(load.id);
      if (!p || p.startedAt === undefined || p.finished) continue;
      const running = (readings.get(load.id)?.relayOn ?? false) && (readings.get(load.id)?.powerW ?? 0) > (this.#options.standbyW ?? 15);
      out.push(load.interruptible ? { loadId: load.id, startedAt: p.startedAt, doneMs: p.doneMs, runningNow: running } : { loadId: load.id, startedAt: p.startedAt });
    }
    return out;
  }

  update(now: number, inputs: PlanInputs, readings: ReadonlyMap<string, LoadReading>): RunnerUpdate {
    this.#track(now, readings);
    const finished = new Set([...this.#progress].filter(([, p]) => p.finished).map(([id]) => id));
    const active = this.#loads.filter((l) => !finished.has(l.id));
    const started = this.started(now, readings);
    const startedKey = started.map((s) => s.loadId).join(',');
    // A programme that starts becomes a fixed run of the plan (it is never moved again); one that ends leaves it.
    const before = new Set(this.#startedKey.split(',').filter(Boolean));
    const progressed = startedKey === this.#startedKey ? undefined : started.some((s) => !before.has(s.loadId)) ? 'a programme started' : 'a programme ended';
    const because = this.#replanReason(now, inputs) ?? progressed;
    if (because !== undefined) {
      const hint = this.#plan ? new Map(this.#plan.loads.filter((l) => l.status === 'planned').map((l) => [l.loadId, l.slots.map((t) => (this.#plan?.start ?? 0) + t * SLOT_MS)])) : undefined;
      this.#plan = plan({ inputs, loads: active, started, now, options: { ...this.#options.solver, ...(hint ? { hint } : {}) } });
      this.#inputs = inputs;
      this.#loadsChanged = false;
      this.#startedKey = startedKey;
    }
    const current = this.#plan;
    if (!current) throw new Error('no plan');
    return { plan: current, replanned: because !== undefined, ...(because !== undefined ? { because } : {}), intents: planIntents(current, this.#loads, now, finished) };
  }

  #track(now: number, readings: ReadonlyMap<string, LoadReading>): void {
    const standby = this.#options.standbyW ?? 15;
    for (const load of this.#loads) {
      const r = readings.get(load.id);
      const p = this.#progress.get(load.id) ?? { startedAt: undefined, doneMs: 0, lastAt: undefined, finished: false };
      const running = r !== undefined && r.relayOn && r.powerW > standby;
      if (running && p.startedAt === undefined) p.startedAt = now;
      if (running && p.lastAt !== undefined) p.doneMs += now - p.lastAt;
      p.lastAt = running ? now : undefined;
      const duration = profileDurationMs(load.profile);
      if (p.startedAt !== undefined && !p.finished) {
        if (load.interruptible) p.finished = p.doneMs >= duration;
        else p.finished = (now - p.startedAt >= duration && !running) || now - p.startedAt >= duration + 3_600_000;
      }
      this.#progress.set(load.id, p);
    }
  }

  #replanReason(now: number, inputs: PlanInputs): string | undefined {
    const old = this.#plan;
    const before = this.#inputs;
    if (!old || !before) return 'first plan';
    if (this.#loadsChanged) return 'the programmes changed';
    if (slotStart(now) !== old.start) return 'a new slot began';
    if (inputs.price.length !== before.price.length) return 'the horizon changed';
    const tol = this.#options.forecastToleranceW ?? 100;
    for (let t = 0; t < inputs.price.length; t++) {
      if (inputs.price[t] !== before.price[t] || (inputs.feedIn?.[t] ?? 0) !== (before.feedIn?.[t] ?? 0)) return 'the prices changed';
      if (Math.abs((inputs.solarW[t] ?? 0) - (before.solarW[t] ?? 0)) > tol || Math.abs((inputs.cogenW?.[t] ?? 0) - (before.cogenW?.[t] ?? 0)) > tol) return 'the forecast changed';
      if (Math.abs((inputs.baseW[t] ?? 0) - (before.baseW[t] ?? 0)) > tol) return 'the base load forecast changed';
      const la = typeof inputs.importLimitW === 'number' ? inputs.importLimitW : inputs.importLimitW[t];
      const lb = typeof before.importLimitW === 'number' ? before.importLimitW : before.importLimitW[t];
      if (la !== lb) return 'the import limit changed';
    }
    return undefined;
  }
}
