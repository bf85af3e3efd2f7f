/**
 * The planner for deferrable loads: when each programme runs over the next hours, on the
 * 15-minute price grid, with the solar forecast, the predicted base load and the co-generator,
 * under the contracted limit, for several loads together.
 *
 * Model (docs/energy-management.md §2). Per slot t, with h = 0.25 h:
 *   r_t   = base − solar − cogen                       (W; negative = surplus)
 *   D_t   = Σ average power of the deferrable loads     (W)
 *   money = h/1000 · (price_t · (r_t + D_t)  if positive, else feedIn_t · (r_t + D_t))
 * The objective J adds, lexicographic in effect by their weights:
 *   UNPLACED per load that cannot be planned,
 *   PEAK_WEIGHT per kW² · h of import above the site's own peak, when some load asks for the
 *     lowest peak (a convex stand-in for the highest import: zero while the loads stay under
 *     what the site draws anyway, and spreading what cannot),
 *   SOLAR_WEIGHT per kWh the 'solar' loads take from the grid (they get the surplus first),
 *   money.
 * Every term is a sum over slots of a function convex in what is added to the slot (for money,
 * when price ≥ feed-in), so a load's cost on top of others is never below its cost alone: that
 * gives the branch and bound its bounds, and loads that share no slot where a term bends do not
 * interact at all and are solved apart.
 *
 * Exact method: per group of interacting loads, depth-first branch and bound (start slot of an
 * uninterruptible programme; slot of each chunk, in order, of an interruptible one), children
 * best-first, bounded by the sum of every remaining load's best increment given the loads placed
 * so far.
 * It starts from the best heuristic plan (greedy + coordinate descent, also seeded with the
 * naive and the run-now plans), so it returns nothing worse than those even when it stops at
 * its node or time budget; then the plan says 'heuristic' and gives the gap to the bound.
 */
import { SLOT_MS } from '../tariff/slot';
import { profileEnergyWh, profileSlots, remainingProfile, validateProfile, type PowerStep, type SlotProfile } from './profile';

export type Strategy = 'cost' | 'solar' | 'peak';

export interface DeferrableLoad {
  readonly id: string;
  readonly name?: string;
  readonly profile: readonly PowerStep[];
  /** ms since the epoch. */
  readonly earliestStart: number;
  /** ms since the epoch: the programme ends by then. */
  readonly latestEnd: number;
  /** May pause between 15-minute slots (an EV, a water heater); else one uninterrupted block. */
  readonly interruptible: boolean;
  readonly strategy: Strategy;
}

/** Per-slot inputs, all of one length, slot 0 starting at `start`. */
export interface PlanInputs {
  /** ms, a multiple of SLOT_MS. */
  readonly start: number;
  /** Import price, currency/kWh. */
  readonly price: readonly number[];
  /** Paid for export, currency/kWh (default 0). */
  readonly feedIn?: readonly number[];
  readonly solarW: readonly number[];
  /** Predicted consumption of everything but the deferrable loads, W. */
  readonly baseW: readonly number[];
  /** Co-generator output, W (default 0). */
  readonly cogenW?: readonly number[];
  /** Highest import allowed, W: one value, or one per slot (a limit that changes with the time of day). */
  readonly importLimitW: number | readonly number[];
}

/** A programme already running: the planner never moves it. */
export interface StartedProgramme {
  readonly loadId: string;
  /** When it started, ms. */
  readonly startedAt: number;
  /** Interruptible loads: ms of the programme already delivered (default: now − startedAt). */
  readonly doneMs?: number;
  /** Interruptible loads: running now, so the current slot stays as it is. */
  readonly runningNow?: boolean;
}

export interface SolverOptions {
  /** Branch-and-bound nodes before falling back to the heuristic plan (default 200 000). */
  readonly maxNodes?: number;
  /** Milliseconds for the whole solve (heuristic plan, then exact search) before settling for the heuristic plan (default 60; Infinity for none). */
  readonly timeBudgetMs?: number;
  /** Clock for the time budget, ms (default performance.now). */
  readonly clock?: () => number;
  /** Skip the exact search: the heuristic alone (for comparisons). */
  readonly heuristicOnly?: boolean;
  /** When the search stops at its budget, ms more for pair moves on its best plan (default 25). */
  readonly polishMs?: number;
  /** A previous plan to start from (warm start when re-planning): slot start times, ms, per load id. */
  readonly hint?: ReadonlyMap<string, readonly number[]>;
}

export interface PlanRequest {
  readonly inputs: PlanInputs;
  readonly loads: readonly DeferrableLoad[];
  readonly started?: readonly StartedProgramme[];
  /** ms; planning starts in the slot that contains it. */
  readonly now: number;
  readonly options?: SolverOptions;
}

export interface PlannedRun {
  readonly start: number;
  readonly end: number;
  /** Average power over the run, W. */
  readonly watts: number;
}

export interface LoadPlan {
  readonly loadId: string;
  readonly status: 'planned' | 'running' | 'unplaced';
  /** Slot index (from the plan's start) of each slot the programme runs in. */
  readonly slots: readonly number[];
  /** The same, merged into contiguous runs, ms. */
  readonly runs: readonly PlannedRun[];
  /** Expected cost of this load's energy (its share of the extra bill), currency. */
  readonly money: number;
  readonly energyWh: number;
  /** Energy from the site's own production (solar, co-generator). */
  readonly ownWh: number;
  readonly reason?: string;
  /** Why it is unplaced, as data for the screens. */
  readonly reasonCode?: UnplacedCode;
}

export interface PlanOutcome {
  /** The extra bill of the deferrable loads: site cost with them minus without, currency. */
  readonly money: number;
  readonly objective: number;
  /** Energy the deferrable loads add to the import, Wh. */
  readonly gridWh: number;
  /** Energy the deferrable loads take from the site's own production, Wh. */
  readonly ownWh: number;
  /** Highest import of the site, W. */
  readonly peakW: number;
  /** Every planned load inside the import limit. */
  readonly feasible: boolean;
  readonly unplaced: number;
}

export interface Plan {
  readonly createdAt: number;
  readonly start: number;
  readonly slotCount: number;
  readonly loads: readonly LoadPlan[];
  /** 'exact': proven optimal; 'heuristic': the search stopped at its budget (or was skipped). */
  readonly method: 'exact' | 'heuristic';
  readonly nodes: number;
  readonly elapsedMs: number;
  /** Proven lower bound of the objective; equal to it (within rounding) when exact. */
  readonly lowerBound: number;
  readonly outcome: PlanOutcome;
  /** The same loads started as soon as allowed, uninterrupted. */
  readonly runNow: PlanOutcome;
  /** Each load alone on its cheapest slots by price (evcc's planner), blind to solar, base load and limit. */
  readonly naive: PlanOutcome;
}

export const UNPLACED_PENALTY = 1e9;
/** Per kW² · h of import above the site's own peak, when some load asks for the lowest peak. */
export const PEAK_WEIGHT = 1000;
/** Per kWh a 'solar' load takes from the grid. */
export const SOLAR_WEIGHT = 100;
const EPS = 1e-9;
const H_KWH = SLOT_MS / 3_600_000 / 1000; // kWh per W per slot

/** One load on the slot grid, inside the solver. */
export interface Job {
  readonly load: DeferrableLoad;
  readonly avg: Float64Array;
  readonly peak: Float64Array;
  readonly m: number;
  readonly solar: boolean;
  /** First slot chunk 0 may use. */
  readonly first: number;
  /** Slots end before this (exclusive). */
  readonly end: number;
  readonly interruptible: boolean;
  /** Chunk 0 is held at slot 0 (an interruptible programme running now). */
  readonly holdFirst: boolean;
}

/** Slot indexes per job (undefined: not planned). */
export type Placement = (Int32Array | undefined)[];

export interface FixedRun {
  readonly loadId: string;
  readonly slots: Int32Array;
  readonly avg: Float64Array;
  readonly peak: Float64Array;
  readonly solar: boolean;
}

/** The site's slots and the cost of power added to them. */
export class SiteModel {
  readonly n: number;
  readonly r: Float64Array;
  readonly price: Float64Array;
  readonly feed: Float64Array;
  readonly limit: Float64Array;
  readonly surplus: Float64Array;
  readonly peakActive: boolean;
  readonly start: number;
  /** The site's highest import without the deferrable loads (and with the running ones), W. */
  peakRefW = 0;

  constructor(inputs: PlanInputs, peakActive: boolean) {
    const n = inputs.price.length;
    const check = (name: string, a: readonly number[] | undefined) => {
      if (a === undefined) return;
      if (a.length !== n) throw new Error(`plan inputs: ${name} has ${a.length} slots, prices have ${n}`);
      for (const v of a) if (!Number.isFinite(v)) throw new Error(`plan inputs: ${name} holds a value that is not a finite number`);
    };
    if (inputs.start % SLOT_MS !== 0) throw new Error('plan inputs: start must be on the 15-minute grid');
    check('price', inputs.price);
    check('feedIn', inputs.feedIn);
    check('solarW', inputs.solarW);
    check('baseW', inputs.baseW);
    check('cogenW', inputs.cogenW);
    if (typeof inputs.importLimitW !== 'number') check('importLimitW', inputs.importLimitW);
    else if (!(inputs.importLimitW > 0)) throw new Error('plan inputs: the import limit must be positive');
    this.n = n;
    this.start = inputs.start;
    this.r = new Float64Array(n);
    this.price = Float64Array.from(inputs.price);
    this.feed = new Float64Array(n);
    this.limit = new Float64Array(n);
    this.surplus = new Float64Array(n);
    this.peakActive = peakActive;
    for (let t = 0; t < n; t++) {
      const r = (inputs.baseW[t] ?? 0) - (inputs.solarW[t] ?? 0) - (inputs.cogenW?.[t] ?? 0);
      this.r[t] = r;
      this.feed[t] = inputs.feedIn?.[t] ?? 0;
      this.limit[t] = typeof inputs.importLimitW === 'number' ? inputs.importLimitW : (inputs.importLimitW[t] ?? 0);
      this.surplus[t] = Math.max(0, -r);
      this.peakRefW = Math.max(this.peakRefW, r);
    }
  }

  /** Money of slot t with D W of deferrable load. */
  money(t: number, d: number): number {
    const net = (this.r[t] ?? 0) + d;
    return H_KWH * net * (net > 0 ? (this.price[t] ?? 0) : (this.feed[t] ?? 0));
  }

  /** Penalty of slot t with Ds W of 'solar' load (which gets the surplus first). */
  solarPenalty(t: number, ds: number): number {
    return H_KWH * SOLAR_WEIGHT * Math.max(0, ds - (this.surplus[t] ?? 0));
  }

  /** Penalty of an import of q W (peak) in a slot: squared excess over the site's own peak. */
  peakPenalty(q: number): number {
    if (!this.peakActive) return 0;
    const excessKw = Math.max(0, q - this.peakRefW) / 1000;
    return PEAK_WEIGHT * (SLOT_MS / 3_600_000) * excessKw * excessKw;
  }

  /** Slot t's cost is additive in what is added to it, whatever the combination of these peaks and averages. */
  isLinear(t: number, sumPeakW: number): boolean {
    const r = this.r[t] ?? 0;
    if (r < 0 && (this.price[t] ?? 0) !== (this.feed[t] ?? 0)) return false; // the kink where the surplus runs out
    if (r < 0) return false; // 'solar' loads share the surplus
    if (r + sumPeakW > (this.limit[t] ?? 0) + 1e-9) return false; // the limit may bind
    if (this.peakActive && r + sumPeakW > this.peakRefW) return false;
    return true;
  }
}

/** Sums of a partial plan per slot, with exact add and remove. */
export class SiteState {
  readonly d: Float64Array;
  readonly ds: Float64Array;
  readonly q: Float64Array;

  constructor(readonly model: SiteModel) {
    this.d = new Float64Array(model.n);
    this.ds = new Float64Array(model.n);
    this.q = Float64Array.from(model.r);
  }

  /** Cost of adding avg W (peak p) at t on top of the state; Infinity over the limit. */
  inc(t: number, avg: number, peak: number, solar: boolean): number {
    const q = this.q[t] ?? 0;
    if (peak > 0 && q + peak > (this.model.limit[t] ?? 0) + 1e-9) return Infinity;
    let c = 0;
    if (avg !== 0) {
      const d = this.d[t] ?? 0;
      c += this.model.money(t, d + avg) - this.model.money(t, d);
      if (solar) {
        const ds = this.ds[t] ?? 0;
        c += this.model.solarPenalty(t, ds + avg) - this.model.solarPenalty(t, ds);
      }
    }
    if (peak > 0 && this.model.peakActive) c += this.model.peakPenalty(q + peak) - this.model.peakPenalty(q);
    return c;
  }

  /** Never above the cost this addition will have, whatever is added to the slot later. */
  incLowerBound(t: number, avg: number, peak: number, solar: boolean): number {
    const price = this.model.price[t] ?? 0;
    const feed = this.model.feed[t] ?? 0;
    if (price >= feed) return this.inc(t, avg, peak, solar); // convex slot: increments only grow
    const q = this.q[t] ?? 0;
    if (peak > 0 && q + peak > (this.model.limit[t] ?? 0) + 1e-9) return Infinity;
    // Feed-in dearer than import: the money part is concave, its lowest rate is the price.
    let c = H_KWH * avg * price;
    if (solar) c += this.model.solarPenalty(t, (this.ds[t] ?? 0) + avg) - this.model.solarPenalty(t, this.ds[t] ?? 0);
    if (peak > 0 && this.model.peakActive) c += this.model.peakPenalty(q + peak) - this.model.peakPenalty(q);
    return c;
  }

  add(t: number, avg: number, peak: number, solar: boolean): void {
    this.d[t] = (this.d[t] ?? 0) + avg;
    if (solar) this.ds[t] = (this.ds[t] ?? 0) + avg;
    this.q[t] = (this.q[t] ?? 0) + peak;
  }

  remove(t: number, avg: number, peak: number, solar: boolean): void {
    this.d[t] = (this.d[t] ?? 0) - avg;
    if (solar) this.ds[t] = (this.ds[t] ?? 0) - avg;
    this.q[t] = (this.q[t] ?? 0) - peak;
  }
}

function jobFor(load: DeferrableLoad, inputs: PlanInputs, n: number, now: number, profile: readonly PowerStep[], holdFirst: boolean, firstOverride?: number): Job {
  const { avgW, peakW }: SlotProfile = profileSlots(profile);
  const first = firstOverride ?? (load.earliestStart <= now ? 0 : Math.max(0, Math.ceil((load.earliestStart - inputs.start) / SLOT_MS - 1e-9)));
  const end = Math.min(n, Math.floor((load.latestEnd - inputs.start) / SLOT_MS + 1e-9));
  return { load, avg: avgW, peak: peakW, m: avgW.length, solar: load.strategy === 'solar', first, end, interruptible: load.interruptible, holdFirst };
}

function placeRun(state: SiteState, slots: ArrayLike<number>, avg: Float64Array, peak: Float64Array, solar: boolean): boolean {
  let feasible = true;
  for (let j = 0; j < slots.length; j++) {
    const t = slots[j] ?? 0;
    const p = peak[j] ?? 0;
    if (p > 0 && (state.q[t] ?? 0) + p > (state.model.limit[t] ?? 0) + 1e-9) feasible = false;
    state.add(t, avg[j] ?? 0, p, solar);
  }
  return feasible;
}

/** Objective and figures of a complete placement, from scratch: the reference the solver is tested against. */
export function evaluate(model: SiteModel, jobs: readonly Job[], placement: Placement, fixed: readonly FixedRun[] = []): PlanOutcome {
  const state = new SiteState(model);
  let feasible = true;
  let unplaced = 0;
  for (const f of fixed) placeRun(state, f.slots, f.avg, f.peak, f.solar);
  jobs.forEach((job, k) => {
    const slots = placement[k];
    if (!slots) unplaced++;
    else if (!placeRun(state, slots, job.avg, job.peak, job.solar)) feasible = false;
  });
  let money = 0;
  let penalty = 0;
  let gridWh = 0;
  let ownWh = 0;
  let peakW = 0;
  for (let t = 0; t < model.n; t++) {
    const d = state.d[t] ?? 0;
    const q = state.q[t] ?? 0;
    money += model.money(t, d) - model.money(t, 0);
    penalty += model.solarPenalty(t, state.ds[t] ?? 0) + model.peakPenalty(q);
    const r = model.r[t] ?? 0;
    const added = Math.max(0, r + d) - Math.max(0, r);
    gridWh += added * H_KWH * 1000;
    ownWh += (d - added) * H_KWH * 1000;
    peakW = Math.max(peakW, q);
  }
  const objective = unplaced * UNPLACED_PENALTY + penalty + money;
  return { money, objective, gridWh, ownWh, peakW, feasible, unplaced };
}

/** The problem on the slot grid: what the solver and the tests work on. */
export interface Problem {
  readonly model: SiteModel;
  readonly jobs: readonly Job[];
  readonly fixed: readonly FixedRun[];
}

export function buildProblem(request: PlanRequest): Problem {
  const { inputs, now } = request;
  const n = inputs.price.length;
  const started = new Map((request.started ?? []).map((s) => [s.loadId, s]));
  const ids = new Set<string>();
  const jobs: Job[] = [];
  const fixed: FixedRun[] = [];
  if (Math.floor((now - inputs.start) / SLOT_MS) !== 0) throw new Error(`plan inputs must start in the slot of now (${new Date(now).toISOString()})`);
  for (const load of request.loads) {
    if (ids.has(load.id)) throw new Error(`two deferrable loads are called ${load.id}`);
    ids.add(load.id);
    validateProfile(load.profile, `load ${load.id}`);
    if (!(load.latestEnd > load.earliestStart)) throw new Error(`load ${load.id}: latest end must be after the earliest start`);
    const s = started.get(load.id);
    if (s && !load.interruptible) {
      // Never moved: what is left of it stays where it is, from now on.
      const rest = remainingProfile(load.profile, now - s.startedAt);
      if (rest.length === 0) continue;
      const p = profileSlots(rest, now - inputs.start);
      const m = Math.min(p.avgW.length, n);
      fixed.push({ loadId: load.id, slots: Int32Array.from({ length: m }, (_, j) => j), avg: p.avgW.slice(0, m), peak: p.peakW.slice(0, m), solar: load.strategy === 'solar' });
      continue;
    }
    if (s && load.interruptible) {
      const rest = remainingProfile(load.profile, s.doneMs ?? now - s.startedAt);
      if (rest.length === 0) continue;
      jobs.push(jobFor(load, inputs, n, now, rest, s.runningNow ?? false, 0));
      continue;
    }
    jobs.push(jobFor(load, inputs, n, now, load.profile, false));
  }
  const model = new SiteModel(inputs, request.loads.some((l) => l.strategy === 'peak'));
  // The reference peak includes what is already running.
  const state = new SiteState(model);
  for (const f of fixed) placeRun(state, f.slots, f.avg, f.peak, f.solar);
  for (const q of state.q) model.peakRefW = Math.max(model.peakRefW, q);
  return { model, jobs, fixed };
}

// ---------------------------------------------------------------------------------------------
// One load, given the others: exact.

interface Best {
  cost: number;
  slots: Int32Array | undefined;
}

function blockCost(state: SiteState, job: Job, s: number, lowerBound: boolean): number {
  let c = 0;
  for (let j = 0; j < job.m; j++) {
    c += lowerBound ? state.incLowerBound(s + j, job.avg[j] ?? 0, job.peak[j] ?? 0, job.solar) : state.inc(s + j, job.avg[j] ?? 0, job.peak[j] ?? 0, job.solar);
    if (c === Infinity) return c;
  }
  return c;
}

/** Best start of an uninterruptible job; ties go to the later start (evcc: keep the options open). */
function bestBlock(state: SiteState, job: Job, lowerBound = false): Best {
  let best: Best = { cost: Infinity, slots: undefined };
  let bestS = -1;
  for (let s = job.first; s <= job.end - job.m; s++) {
    const c = blockCost(state, job, s, lowerBound);
    if (c < Infinity && c <= best.cost + EPS) {
      best = { cost: c, slots: undefined };
      bestS = s;
    }
  }
  if (bestS >= 0) best.slots = Int32Array.from({ length: job.m }, (_, j) => bestS + j);
  return best;
}

/**
 * Best order-keeping placement of an interruptible job's chunks `from`.. at slots ≥ `fromSlot`
 * (dynamic programming over chunk × slot); ties go to the later slots.
 */
function bestChunks(state: SiteState, job: Job, lowerBound = false, from = 0, fromSlot = job.first): Best {
  const n = job.end;
  const m = job.m;
  if (m - from > n - fromSlot) return { cost: Infinity, slots: undefined };
  const rows = m - from;
  const cost = scratch(rows * n);
  const back = scratchInt(rows * n);
  for (let j = from; j < m; j++) {
    const row = (j - from) * n;
    const prevRow = row - n;
    const a = job.avg[j] ?? 0;
    const p = job.peak[j] ?? 0;
    const lo = fromSlot + (j - from);
    const hi = n - (m - j);
    const hold = job.holdFirst && j === 0;
    for (let t = 0; t < n; t++) cost[row + t] = Infinity;
    let runMin = Infinity;
    let runArg = -1;
    for (let t = lo; t <= hi; t++) {
      if (j > from) {
        const pv = cost[prevRow + t - 1] ?? Infinity;
        if (pv <= runMin) {
          runMin = pv;
          runArg = t - 1;
        }
      }
      if (hold && t !== 0) continue;
      const before = j === from ? 0 : runMin;
      if (before === Infinity) continue;
      const c = lowerBound ? state.incLowerBound(t, a, p, job.solar) : state.inc(t, a, p, job.solar);
      if (c === Infinity) continue;
      cost[row + t] = before + c;
      back[row + t] = runArg;
    }
  }
  const last = (rows - 1) * n;
  let bestT = -1;
  let best = Infinity;
  for (let t = 0; t < n; t++) {
    const v = cost[last + t] ?? Infinity;
    if (v < Infinity && v <= best + EPS) {
      best = v;
      bestT = t;
    }
  }
  if (bestT < 0) return { cost: Infinity, slots: undefined };
  const slots = new Int32Array(rows);
  let t = bestT;
  for (let j = m - 1; j >= from; j--) {
    slots[j - from] = t;
    t = back[(j - from) * n + t] ?? -1;
  }
  return { cost: best, slots };
}

let scratchF = new Float64Array(4096);
let scratchI = new Int32Array(4096);
function scratch(size: number): Float64Array {
  if (scratchF.length < size) scratchF = new Float64Array(size * 2);
  return scratchF;
}
function scratchInt(size: number): Int32Array {
  if (scratchI.length < size) scratchI = new Int32Array(size * 2);
  return scratchI;
}

/**
 * For an interruptible job given the state: suffix[c · (n + 1) + t] is the least cost of its
 * chunks c.. with chunk c at slot ≥ t (Infinity when they cannot fit).
 */
function chunkSuffix(state: SiteState, job: Job): Float64Array {
  const n = job.end;
  const w = n + 1;
  const suffix = new Float64Array((job.m + 1) * w).fill(Infinity);
  for (let t = 0; t <= n; t++) suffix[job.m * w + t] = 0;
  for (let c = job.m - 1; c >= 0; c--) {
    const a = job.avg[c] ?? 0;
    const p = job.peak[c] ?? 0;
    const hi = n - (job.m - c);
    for (let t = hi; t >= 0; t--) {
      let v = suffix[c * w + t + 1] ?? Infinity;
      if (t >= job.first && !(job.holdFirst && c === 0 && t !== 0)) {
        const rest = suffix[(c + 1) * w + t + 1] ?? Infinity;
        if (rest < Infinity) {
          const here = state.inc(t, a, p, job.solar);
          if (here + rest < v) v = here + rest;
        }
      }
      suffix[c * w + t] = v;
    }
  }
  return suffix;
}

function bestPlacement(state: SiteState, job: Job, lowerBound = false): Best {
  return job.interruptible ? bestChunks(state, job, lowerBound) : bestBlock(state, job, lowerBound);
}

function apply(state: SiteState, job: Job, slots: ArrayLike<number>): void {
  for (let j = 0; j < slots.length; j++) state.add(slots[j] ?? 0, job.avg[j] ?? 0, job.peak[j] ?? 0, job.solar);
}

function unapply(state: SiteState, job: Job, slots: ArrayLike<number>): void {
  for (let j = 0; j < slots.length; j++) state.remove(slots[j] ?? 0, job.avg[j] ?? 0, job.peak[j] ?? 0, job.solar);
}

function placementCost(state: SiteState, job: Job, slots: ArrayLike<number>): number {
  let c = 0;
  for (let j = 0; j < slots.length; j++) c += state.inc(slots[j] ?? 0, job.avg[j] ?? 0, job.peak[j] ?? 0, job.solar);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Reference plans

/** Each load alone on its cheapest slots by price, as evcc plans (ties to the later slots). */
export function naivePlacement(problem: Problem): Placement {
  // Always importing, no limit: each slot costs its price, nothing else.
  const n = problem.model.n;
  const flat = new SiteModel({ start: 0, price: Array.from(problem.model.price), solarW: new Array<number>(n).fill(0), baseW: new Array<number>(n).fill(1e6), importLimitW: Infinity }, false);
  const state = new SiteState(flat);
  return problem.jobs.map((job) => bestPlacement(state, job).slots);
}

/** Each load from its earliest slot, without a pause. */
export function runNowPlacement(problem: Problem): Placement {
  return problem.jobs.map((job) => (job.first + job.m > job.end ? undefined : Int32Array.from({ length: job.m }, (_, j) => job.first + j)));
}

// ---------------------------------------------------------------------------------------------
// Heuristic

function stateWith(problem: Problem, placement: Placement, except = -1): SiteState {
  const state = new SiteState(problem.model);
  for (const f of problem.fixed) placeRun(state, f.slots, f.avg, f.peak, f.solar);
  problem.jobs.forEach((job, k) => {
    const s = placement[k];
    if (s && k !== except) apply(state, job, s);
  });
  return state;
}

/** Coordinate descent: move one load at a time to its best place given the others, until none moves. */
function improve(problem: Problem, jobsIdx: readonly number[], start: Placement, pairs = false, maxPasses = 30, stop: () => boolean = () => false, frozen: readonly number[] = []): Placement {
  const placement: Placement = start.map((s) => (s ? Int32Array.from(s) : undefined));
  const state = new SiteState(problem.model);
  for (const f of problem.fixed) placeRun(state, f.slots, f.avg, f.peak, f.solar);
  for (const k of frozen) {
    const s = placement[k];
    if (s) apply(state, problem.jobs[k] as Job, s);
  }
  // Keep what fits, in order; the rest starts unplanned.
  for (const k of jobsIdx) {
    const job = problem.jobs[k] as Job;
    const s = placement[k];
    if (s && placementCost(state, job, s) < Infinity) apply(state, job, s);
    else placement[k] = undefined;
  }
  for (let pass = 0; pass < maxPasses; pass++) {
    let moved = false;
    for (const k of jobsIdx) {
      const job = problem.jobs[k] as Job;
      const old = placement[k];
      if (old) unapply(state, job, old);
      const oldCost = old ? placementCost(state, job, old) : UNPLACED_PENALTY;
      const best = bestPlacement(state, job);
      if (best.slots && best.cost < oldCost - 1e-9) {
        placement[k] = best.slots;
        apply(state, job, best.slots);
        moved = true;
      } else if (old) {
        apply(state, job, old);
      }
    }
    if (!moved && !(pairs && pairMoves(problem, jobsIdx, placement, state, stop))) break;
    if (stop()) break;
  }
  return placement;
}

/**
 * Two loads at once: take both out and put them back best-first in either order; keep the move
 * when it lowers their joint cost. Frees the coordinate descent from the stand-offs where two
 * loads each hold the slot the other should have (a shared surplus, a limit).
 */
function pairMoves(problem: Problem, jobsIdx: readonly number[], placement: Placement, state: SiteState, stop: () => boolean): boolean {
  let moved = false;
  for (let x = 0; x < jobsIdx.length; x++) {
    if (stop()) return moved;
    for (let y = x + 1; y < jobsIdx.length; y++) {
      const a = jobsIdx[x] as number;
      const b = jobsIdx[y] as number;
      const ja = problem.jobs[a] as Job;
      const jb = problem.jobs[b] as Job;
      const pa = placement[a];
      const pb = placement[b];
      if (pb) unapply(state, jb, pb);
      if (pa) unapply(state, ja, pa);
      let oldCost = pa ? placementCost(state, ja, pa) : UNPLACED_PENALTY;
      if (pa) apply(state, ja, pa);
      oldCost += pb ? placementCost(state, jb, pb) : UNPLACED_PENALTY;
      if (pa) unapply(state, ja, pa);
      let best = { cost: oldCost - 1e-9, sa: pa, sb: pb };
      for (const [first, second] of [[ja, jb], [jb, ja]] as const) {
        const f = bestPlacement(state, first);
        if (!f.slots) continue;
        apply(state, first, f.slots);
        const g = bestPlacement(state, second);
        unapply(state, first, f.slots);
        if (!g.slots || f.cost + g.cost >= best.cost) continue;
        best = first === ja ? { cost: f.cost + g.cost, sa: f.slots, sb: g.slots } : { cost: f.cost + g.cost, sa: g.slots, sb: f.slots };
      }
      if (best.sa !== pa || best.sb !== pb) moved = true;
      placement[a] = best.sa;
      placement[b] = best.sb;
      if (best.sa) apply(state, ja, best.sa);
      if (best.sb) apply(state, jb, best.sb);
    }
  }
  return moved;
}

function greedy(problem: Problem, order: readonly number[]): Placement {
  const state = stateWith(problem, []);
  const placement: Placement = problem.jobs.map(() => undefined);
  for (const k of order) {
    const job = problem.jobs[k] as Job;
    const best = bestPlacement(state, job);
    if (best.slots) {
      placement[k] = best.slots;
      apply(state, job, best.slots);
    }
  }
  return placement;
}

function energyOf(job: Job): number {
  let e = 0;
  for (const a of job.avg) e += a;
  return e;
}

/** Greedy placements (by energy, by slack) and the reference plans, each improved by coordinate descent; the best. */
export function heuristic(problem: Problem, jobsIdx: readonly number[] = [...problem.jobs.keys()], hint?: Placement, stop: () => boolean = () => false, pairs = true): Placement {
  const jobs = (k: number) => problem.jobs[k] as Job;
  const byEnergy = [...jobsIdx].sort((a, b) => energyOf(jobs(b)) - energyOf(jobs(a)));
  const bySlack = [...jobsIdx].sort((a, b) => jobs(a).end - jobs(a).first - jobs(a).m - (jobs(b).end - jobs(b).first - jobs(b).m));
  const only = (p: Placement): Placement => problem.jobs.map((_, k) => (jobsIdx.includes(k) ? p[k] : undefined));
  const solarFirst = [...byEnergy].sort((a, b) => Number(jobs(b).solar) - Number(jobs(a).solar));
  const byWindow = [...jobsIdx].sort((a, b) => jobs(a).first - jobs(b).first || jobs(a).end - jobs(b).end);
  const seeds = [greedy(problem, byEnergy), greedy(problem, bySlack), greedy(problem, solarFirst), greedy(problem, byWindow), greedy(problem, [...byEnergy].reverse()), only(naivePlacement(problem)), only(runNowPlacement(problem))];
  if (hint) seeds.unshift(only(hint));
  let best: Placement = problem.jobs.map(() => undefined);
  let bestJ = Infinity;
  for (const seed of seeds) {
    const p = improve(problem, jobsIdx, seed);
    const j = evaluate(problem.model, problem.jobs, p, problem.fixed).objective;
    if (j < bestJ - 1e-9) {
      bestJ = j;
      best = p;
    }
  }
  // Pair moves are dearer: only from the best single-move optimum, when asked.
  return pairs && jobsIdx.length > 1 ? improve(problem, jobsIdx, best, true, 8, stop) : best;
}

// ---------------------------------------------------------------------------------------------
// Exact search

/**
 * Groups of loads that can change each other's cost: two loads interact only through a slot both
 * may use where the cost is not additive (a surplus to share, a limit or a peak that may bind).
 * Each group is solved on its own; the objective is their sum.
 */
export function components(problem: Problem): number[][] {
  const { model, jobs } = problem;
  const parent = jobs.map((_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k] ?? k] ?? k;
    return k;
  };
  const base = stateWith(problem, []);
  const maxPeak = jobs.map((j) => Math.max(0, ...j.peak));
  for (let t = 0; t < model.n; t++) {
    const users: number[] = [];
    let sum = 0;
    jobs.forEach((job, k) => {
      if (t >= job.first && t < job.end) {
        users.push(k);
        sum += maxPeak[k] ?? 0;
      }
    });
    if (users.length < 2) continue;
    const r = (base.q[t] ?? 0) - (model.r[t] ?? 0); // running programmes add to the slot
    const linear = model.isLinear(t, sum + r) && (base.d[t] ?? 0) === 0;
    if (linear) continue;
    const root = find(users[0] ?? 0);
    for (const k of users) parent[find(k)] = root;
  }
  const groups = new Map<number, number[]>();
  jobs.forEach((_, k) => {
    const root = find(k);
    groups.set(root, [...(groups.get(root) ?? []), k]);
  });
  return [...groups.values()];
}

export interface SolveResult {
  readonly placement: Placement;
  readonly objective: number;
  readonly method: 'exact' | 'heuristic';
  readonly nodes: number;
  readonly lowerBound: number;
  /** Loads in the largest group that had to be searched together. */
  readonly largestGroup: number;
}

interface Budget {
  nodes: number;
  readonly maxNodes: number;
  deadline: number;
  readonly clock: () => number;
  aborted: boolean;
}

/** Branch and bound over one group; starts from (and never returns worse than) the heuristic plan. */
function searchGroup(problem: Problem, group: readonly number[], start: Placement, budget: Budget): { placement: Placement; lowerBound: number; exact: boolean } {
  const state = stateWith(problem, []);
  // Uninterruptible first (few choices each), larger energy first: the bound tightens early.
  const order = [...group].sort((a, b) => {
    const ja = problem.jobs[a] as Job;
    const jb = problem.jobs[b] as Job;
    if (ja.interruptible !== jb.interruptible) return ja.interruptible ? 1 : -1;
    return energyOf(jb) - energyOf(ja);
  });
  const jobs = order.map((k) => problem.jobs[k] as Job);
  const groupJ = (p: Placement) => {
    // The group's own share of the objective, with the other groups absent (their slots are additive).
    const s = stateWith(problem, []);
    let c = 0;
    for (const k of group) {
      const slots = p[k];
      const job = problem.jobs[k] as Job;
      if (!slots) c += UNPLACED_PENALTY;
      else {
        c += placementCost(s, job, slots);
        apply(s, job, slots);
      }
    }
    return c;
  };
  let best = start;
  let bestJ = groupJ(start);
  const current: (Int32Array | undefined)[] = jobs.map(() => undefined);

  // Block jobs: starts by their cost at the root, which never exceeds their cost later on.
  const rootStarts = jobs.map((job) => {
    if (job.interruptible) return { starts: new Int32Array(0), costs: new Float64Array(0) };
    const list: { s: number; c: number }[] = [];
    for (let st = job.first; st <= job.end - job.m; st++) {
      const c = blockCost(state, job, st, true);
      if (c < Infinity) list.push({ s: st, c });
    }
    list.sort((a, b) => a.c - b.c);
    return { starts: Int32Array.from(list, (x) => x.s), costs: Float64Array.from(list, (x) => x.c) };
  });
  const blockBound = (i: number): number => {
    const job = jobs[i] as Job;
    const { starts, costs } = rootStarts[i] as { starts: Int32Array; costs: Float64Array };
    let best = Infinity;
    for (let x = 0; x < starts.length; x++) {
      if ((costs[x] ?? Infinity) >= best) break;
      const c = blockCost(state, job, starts[x] ?? 0, true);
      if (c < best) best = c;
    }
    return best;
  };
  const jobBound = (i: number): number => {
    const job = jobs[i] as Job;
    return Math.min(UNPLACED_PENALTY, job.interruptible ? bestChunks(state, job, true).cost : blockBound(i));
  };
  // A job's bound only grows as loads are placed (every increment's bound does), so its bound at
  // the root is its floor. A negative price makes a floor negative: the jobs not yet summed may
  // still lower the sum, and it may stop early only once their floors cannot bring it below bestJ.
  const floorFrom = new Float64Array(jobs.length + 1);
  for (let i = jobs.length - 1; i >= 0; i--) floorFrom[i] = (floorFrom[i + 1] ?? 0) + Math.min(0, jobBound(i));
  // Each remaining job's best increment given the placed ones: never more than it will add.
  const restBound = (depth: number): number => {
    let add = 0;
    for (let i = depth; i < jobs.length; i++) {
      add += jobBound(i);
      const floor = add + (floorFrom[i + 1] ?? 0);
      if (floor >= bestJ) return floor;
    }
    return add;
  };
  const rootLB = restBound(0);
  const out = () => budget.nodes > budget.maxNodes || budget.clock() > budget.deadline;
  const tick = () => {
    if (++budget.nodes % 128 === 0 && out()) budget.aborted = true;
    return budget.aborted;
  };

  const leaf = (j: number) => {
    if (j >= bestJ - 1e-9) return;
    const placement: Placement = [...best];
    order.forEach((k, i) => (placement[k] = current[i] ? Int32Array.from(current[i] as Int32Array) : undefined));
    const exactJ = groupJ(placement);
    if (exactJ < bestJ - 1e-9) {
      bestJ = exactJ;
      best = placement;
    }
  };

  const dfs = (depth: number, j: number): void => {
    if (tick()) return;
    if (depth === jobs.length) {
      leaf(j);
      return;
    }
    const restOthers = restBound(depth + 1);
    const job = jobs[depth] as Job;
    if (!job.interruptible) {
      const children: { s: number; c: number }[] = [];
      for (let s = job.first; s <= job.end - job.m; s++) {
        const c = blockCost(state, job, s, false);
        if (c < Infinity) children.push({ s, c });
      }
      children.sort((a, b) => a.c - b.c || b.s - a.s);
      for (const child of children) {
        if (budget.aborted || j + child.c + restOthers >= bestJ - 1e-9) break;
        const slots = Int32Array.from({ length: job.m }, (_, i) => child.s + i);
        apply(state, job, slots);
        current[depth] = slots;
        dfs(depth + 1, j + child.c);
        current[depth] = undefined;
        unapply(state, job, slots);
      }
    } else {
      const slots = new Int32Array(job.m);
      // The job's own best completion from each chunk and slot: the others are fixed while its
      // chunks are placed, and a chunk never shares a slot with another of its job.
      const suffix = chunkSuffix(state, job);
      const w = job.end + 1;
      const chunk = (c: number, from: number, jc: number): void => {
        if (budget.aborted) return;
        if (c === job.m) {
          current[depth] = Int32Array.from(slots);
          dfs(depth + 1, jc);
          current[depth] = undefined;
          return;
        }
        if (jc + (suffix[c * w + from] ?? Infinity) + restOthers >= bestJ - 1e-9) return;
        if (tick()) return;
        const a = job.avg[c] ?? 0;
        const p = job.peak[c] ?? 0;
        const options: { t: number; cost: number; bound: number }[] = [];
        for (let t = from; t <= job.end - (job.m - c); t++) {
          if (job.holdFirst && c === 0 && t !== 0) continue;
          const rest = suffix[(c + 1) * w + t + 1] ?? Infinity;
          if (rest === Infinity) continue;
          const cost = state.inc(t, a, p, job.solar);
          if (cost < Infinity) options.push({ t, cost, bound: cost + rest });
        }
        options.sort((x, y) => x.bound - y.bound || y.t - x.t);
        for (const o of options) {
          if (budget.aborted || jc + o.bound + restOthers >= bestJ - 1e-9) return;
          state.add(o.t, a, p, job.solar);
          slots[c] = o.t;
          chunk(c + 1, o.t + 1, jc + o.cost);
          state.remove(o.t, a, p, job.solar);
        }
      };
      chunk(0, job.first, j);
    }
    // Not planned at all.
    if (!budget.aborted && j + UNPLACED_PENALTY + restOthers < bestJ - 1e-9) dfs(depth + 1, j + UNPLACED_PENALTY);
  };

  if (rootLB < bestJ - 1e-9) dfs(0, 0);
  return { placement: best, lowerBound: budget.aborted ? Math.min(rootLB, bestJ) : bestJ, exact: !budget.aborted };
}

/** Exact search per group of interacting loads; the heuristic plan where the budget runs out. */
export function solve(problem: Problem, options: SolverOptions = {}): SolveResult {
  const clock = options.clock ?? (() => globalThis.performance.now());
  const budget: Budget = { nodes: 0, maxNodes: options.maxNodes ?? 200_000, deadline: clock() + (options.timeBudgetMs ?? 60), clock, aborted: false };
  const groups = components(problem);
  let placement: Placement = problem.jobs.map(() => undefined);
  let exact = !(options.heuristicOnly ?? false);
  let lowerBound = evaluate(problem.model, [], [], problem.fixed).objective;
  // Small groups first: a budget that runs out leaves the fewest loads to the heuristic.
  groups.sort((a, b) => a.length - b.length);
  const hint = options.hint ? hintPlacement(problem, options.hint) : undefined;
  const late = () => clock() > budget.deadline;
  // Single moves first, so that the search gets most of the time; pair moves polish what it leaves.
  const starts = groups.map((group) => (group.length === 1 ? greedy(problem, group) : heuristic(problem, group, hint, late, false)));
  const polishUntil = budget.deadline + (options.polishMs ?? 25);
  for (const [g, group] of groups.entries()) {
    const start = starts[g] ?? [];
    let result = { placement: start, lowerBound: NaN, exact: false };
    if (exact && !budget.aborted) result = searchGroup(problem, group, start, budget);
    if (!result.exact && group.length > 1) {
      // Pair moves from the search's best and from the heuristic start: they may reach different basins.
      const stop = () => clock() > polishUntil;
      let bestJ = Infinity;
      for (const candidate of [result.placement, start]) {
        const polished = improve(problem, group, candidate, true, 8, stop);
        const j = evaluate(problem.model, problem.jobs, polished, problem.fixed).objective;
        if (j < bestJ - 1e-9) {
          bestJ = j;
          result = { ...result, placement: polished };
        }
      }
    }
    for (const k of group) placement[k] = result.placement[k];
    if (!result.exact) exact = false;
    else lowerBound += 0; // exact groups add their optimum below
  }
  const objective = evaluate(problem.model, problem.jobs, placement, problem.fixed).objective;
  if (exact) lowerBound = objective;
  else lowerBound = Math.min(objective, lowerBoundOf(problem));
  placement = placement.map((s) => (s ? Int32Array.from(s) : undefined));
  return { placement, objective, method: exact ? 'exact' : 'heuristic', nodes: budget.nodes, lowerBound, largestGroup: Math.max(0, ...groups.map((g) => g.length)) };
}

function hintPlacement(problem: Problem, hint: ReadonlyMap<string, readonly number[]>): Placement {
  const start = problem.model.start;
  return problem.jobs.map((job) => {
    const times = hint.get(job.load.id);
    if (!times || times.length !== job.m) return undefined;
    const slots = Int32Array.from(times, (ms) => Math.round((ms - start) / SLOT_MS));
    for (let j = 0; j < slots.length; j++) {
      const t = slots[j] ?? -1;
      if (t < job.first || t >= job.end || (j > 0 && t <= (slots[j - 1] ?? 0)) || (!job.interruptible && j > 0 && t !== (slots[j - 1] ?? 0) + 1)) return undefined;
    }
    return slots;
  });
}

/** A bound no plan can beat: each load at its best alone, given only what is running. */
function lowerBoundOf(problem: Problem): number {
  const state = stateWith(problem, []);
  let lb = evaluate(problem.model, [], [], problem.fixed).objective;
  for (const job of problem.jobs) lb += Math.min(UNPLACED_PENALTY, bestPlacement(state, job, true).cost);
  return lb;
}

// ---------------------------------------------------------------------------------------------
// The plan

function runsOf(start: number, slots: ArrayLike<number>, avg: Float64Array): PlannedRun[] {
  const runs: PlannedRun[] = [];
  let i = 0;
  while (i < slots.length) {
    let k = i;
    let energy = avg[i] ?? 0;
    while (k + 1 < slots.length && (slots[k + 1] ?? 0) === (slots[k] ?? 0) + 1) {
      k++;
      energy += avg[k] ?? 0;
    }
    const s = start + (slots[i] ?? 0) * SLOT_MS;
    const e = start + ((slots[k] ?? 0) + 1) * SLOT_MS;
    runs.push({ start: s, end: e, watts: energy / (k - i + 1) });
    i = k + 1;
  }
  return runs;
}

/** Share of the extra bill and of the own production per load, proportional to power in each slot. */
function attribute(problem: Problem, placement: Placement): Map<string, { money: number; ownWh: number; energyWh: number }> {
  const { model } = problem;
  const state = stateWith(problem, placement);
  const shares = new Map<string, { money: number; ownWh: number; energyWh: number }>();
  const addShare = (id: string, slots: ArrayLike<number>, avg: Float64Array, solar: boolean) => {
    const acc = shares.get(id) ?? { money: 0, ownWh: 0, energyWh: 0 };
    for (let j = 0; j < slots.length; j++) {
      const t = slots[j] ?? 0;
      const a = avg[j] ?? 0;
      const d = state.d[t] ?? 0;
      if (d <= 0 || a <= 0) continue;
      const ds = state.ds[t] ?? 0;
      const surplus = model.surplus[t] ?? 0;
      const ownSolar = Math.min(ds, surplus);
      const ownOther = Math.min(d - ds, surplus - ownSolar);
      const own = solar ? (ds > 0 ? (ownSolar * a) / ds : 0) : d - ds > 0 ? (ownOther * a) / (d - ds) : 0;
      acc.money += ((model.money(t, d) - model.money(t, 0)) * a) / d;
      acc.ownWh += own * H_KWH * 1000;
      acc.energyWh += a * H_KWH * 1000;
    }
    shares.set(id, acc);
  };
  for (const f of problem.fixed) addShare(f.loadId, f.slots, f.avg, f.solar);
  problem.jobs.forEach((job, k) => {
    const s = placement[k];
    if (s) addShare(job.load.id, s, job.avg, job.solar);
  });
  return shares;
}

export type UnplacedCode = 'window' | 'crowded' | 'no-room';

const UNPLACED_REASONS: Readonly<Record<UnplacedCode, string>> = {
  window: 'its window is shorter than the programme (or ends beyond the known prices and forecast)',
  crowded: 'no room under the import limit next to the other loads',
  'no-room': 'no slot in its window has room under the import limit',
};

function unplacedCode(problem: Problem, job: Job): UnplacedCode {
  if (job.first + job.m > job.end) return 'window';
  const alone = bestPlacement(stateWith(problem, []), job);
  return alone.slots ? 'crowded' : 'no-room';
}

/** Plans the deferrable loads. */
export function plan(request: PlanRequest): Plan {
  const clock = request.options?.clock ?? (() => globalThis.performance.now());
  const t0 = clock();
  const problem = buildProblem(request);
  const result = solve(problem, request.options);
  const { inputs } = request;
  const outcome = evaluate(problem.model, problem.jobs, result.placement, problem.fixed);
  const shares = attribute(problem, result.placement);
  const loads: LoadPlan[] = [];
  for (const f of problem.fixed) {
    const share = shares.get(f.loadId);
    loads.push({ loadId: f.loadId, status: 'running', slots: Array.from(f.slots), runs: runsOf(inputs.start, f.slots, f.avg), money: share?.money ?? 0, energyWh: share?.energyWh ?? 0, ownWh: share?.ownWh ?? 0 });
  }
  problem.jobs.forEach((job, k) => {
    const s = result.placement[k];
    const share = shares.get(job.load.id);
    const running = (request.started ?? []).some((x) => x.loadId === job.load.id);
    if (!s) {
      const code = unplacedCode(problem, job);
      loads.push({ loadId: job.load.id, status: 'unplaced', slots: [], runs: [], money: 0, energyWh: profileEnergyWh(job.load.profile), ownWh: 0, reason: UNPLACED_REASONS[code], reasonCode: code });
    } else {
      loads.push({ loadId: job.load.id, status: running ? 'running' : 'planned', slots: Array.from(s), runs: runsOf(inputs.start, s, job.avg), money: share?.money ?? 0, energyWh: share?.energyWh ?? 0, ownWh: share?.ownWh ?? 0 });
    }
  });
  return {
    createdAt: request.now,
    start: inputs.start,
    slotCount: problem.model.n,
    loads,
    method: result.method,
    nodes: result.nodes,
    elapsedMs: clock() - t0,
    lowerBound: result.lowerBound,
    outcome,
    runNow: evaluate(problem.model, problem.jobs, runNowPlacement(problem), problem.fixed),
    naive: evaluate(problem.model, problem.jobs, naivePlacement(problem), problem.fixed),
  };
}
