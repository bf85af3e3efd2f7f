/**
 * A site in one-second steps for testing the guard: a base load nobody controls, loads behind
 * relays that obey the guard after a latency, people who switch loads and start programmes, and
 * the grid meter's limiter as the truth (its own integrator, fed with the true import).
 */
import { type ActionReason, ContractGuard, type GuardAction, type GuardedLoad, type GuardSettings, type SiteSample } from '../guard';
import { TripIntegrator } from '../trip-curve';

export interface SimLoad extends GuardedLoad {
  /** Power when running, W. */
  readonly onW: number;
  /** Non-interruptible programmes: seconds of running per programme; between programmes the load idles. */
  readonly cycleS?: number;
  readonly initiallyOn?: boolean;
}

export type SimEvent =
  | { readonly atS: number; readonly kind: 'base'; readonly watts: number }
  | { readonly atS: number; readonly kind: 'user-switch'; readonly loadId: string; readonly on: boolean }
  | { readonly atS: number; readonly kind: 'start-programme'; readonly loadId: string }
  | { readonly atS: number; readonly kind: 'override'; readonly loadId: string; readonly on: boolean; readonly forS: number };

export interface RelayChange {
  readonly atS: number;
  readonly loadId: string;
  readonly on: boolean;
  readonly by: 'guard' | 'user';
  /** The guard's reason, for its changes. */
  readonly reason?: ActionReason;
  /** Running mid-programme when it changed. */
  readonly midCycle: boolean;
}

export interface SimTrace {
  readonly gridW: number[];
  /** The part of the import that no rule allowed the guard to remove, each second. */
  readonly lockedW: number[];
  readonly changes: RelayChange[];
  readonly actions: GuardAction[];
  readonly tripped: boolean;
  readonly trippedAtS: number | undefined;
  readonly maxStress: number;
}

interface LoadRuntime {
  readonly load: SimLoad;
  relayOn: boolean;
  remainingS: number;
  lastChangeS: number;
  override: { on: boolean; untilS: number } | undefined;
}

export interface SimOptions {
  readonly settings: GuardSettings;
  readonly loads: readonly SimLoad[];
  readonly baseW: number;
  /** Seconds from the guard's command to the relay's switch. */
  readonly latencyS?: number;
  /** Tell the guard whether each programme is mid-cycle (else it derives it from power). */
  readonly reportCycles?: boolean;
  /** Meters that ignore commands. */
  readonly deafLoads?: readonly string[];
  readonly t0Ms?: number;
}

const IDLE_W = 2;

export function simulateSite(options: SimOptions, events: readonly SimEvent[], durationS: number): SimTrace & { guard: ContractGuard } {
  const guard = new ContractGuard(options.settings, options.loads);
  const meter = new TripIntegrator(options.settings.connection);
  const latency = options.latencyS ?? 1;
  const t0 = options.t0Ms ?? Date.UTC(2026, 0, 12, 8);
  const runtimes = new Map<string, LoadRuntime>(options.loads.map((l) => [l.id, { load: l, relayOn: l.initiallyOn ?? false, remainingS: 0, lastChangeS: 0, override: undefined }]));
  const pendingCommands: { applyAtS: number; loadId: string; on: boolean; reason: ActionReason }[] = [];
  const sorted = [...events].sort((a, b) => a.atS - b.atS);
  let next = 0;
  let baseW = options.baseW;
  const trace: SimTrace = { gridW: [], lockedW: [], changes: [], actions: [], tripped: false, trippedAtS: undefined, maxStress: 0 };
  let trippedAtS: number | undefined;
  let maxStress = 0;

  const powerOf = (r: LoadRuntime) => (!r.relayOn ? 0 : r.load.cycleS === undefined ? r.load.onW : r.remainingS > 0 ? r.load.onW : IDLE_W);
  const change = (r: LoadRuntime, on: boolean, t: number, by: 'guard' | 'user', reason?: ActionReason) => {
    if (r.relayOn === on) return;
    const midCycle = r.load.cycleS !== undefined && r.remainingS > 0;
    trace.changes.push(reason === undefined ? { atS: t, loadId: r.load.id, on, by, midCycle } : { atS: t, loadId: r.load.id, on, by, reason, midCycle });
    r.relayOn = on;
    r.lastChangeS = t;
  };

  for (let t = 0; t < durationS; t++) {
    while (next < sorted.length && (sorted[next]?.atS ?? Infinity) <= t) {
      const e = sorted[next++];
      if (!e) break;
      if (e.kind === 'base') baseW = e.watts;
      else {
        const r = runtimes.get(e.loadId);
        if (!r) throw new Error(`no load ${e.loadId}`);
        if (e.kind === 'user-switch') change(r, e.on, t, 'user');
        else if (e.kind === 'start-programme') r.remainingS = r.load.cycleS ?? 0;
        else {
          r.override = { on: e.on, untilS: t + e.forS };
          guard.override(e.loadId, e.on, t0 + (t + e.forS) * 1000, t0 + t * 1000);
        }
      }
    }
    for (let i = pendingCommands.length - 1; i >= 0; i--) {
      const c = pendingCommands[i];
      if (c && c.applyAtS <= t) {
        pendingCommands.splice(i, 1);
        const r = runtimes.get(c.loadId);
        if (r && !(options.deafLoads ?? []).includes(c.loadId)) change(r, c.on, t, 'guard', c.reason);
      }
    }
    let gridW = baseW;
    let lockedW = baseW;
    for (const r of runtimes.values()) {
      const p = powerOf(r);
      gridW += p;
      if (r.override && r.override.untilS <= t) r.override = undefined;
      const l = r.load;
      const minOnLeft = r.relayOn && t - r.lastChangeS < (l.minOnS ?? 0) + latency + 1;
      const locked = l.managed === false || (r.override?.on ?? false) || (l.cycleS !== undefined && r.remainingS > 0) || minOnLeft;
      if (r.relayOn && locked) lockedW += p;
    }
    trace.gridW.push(gridW);
    trace.lockedW.push(lockedW);
    meter.advance(gridW, 1);
    maxStress = Math.max(maxStress, ...meter.stress);
    if (meter.tripped && trippedAtS === undefined) trippedAtS = t;

    const sample: SiteSample = {
      at: t0 + t * 1000,
      gridW,
      loads: [...runtimes.values()].map((r) => ({
        id: r.load.id,
        powerW: powerOf(r),
        relayOn: r.relayOn,
        ...(options.reportCycles ? { inCycle: r.load.cycleS !== undefined && r.remainingS > 0 } : {}),
      })),
    };
    for (const a of guard.step(sample)) {
      trace.actions.push(a);
      pendingCommands.push({ applyAtS: t + latency, loadId: a.loadId, on: a.on, reason: a.reason });
    }
    // Programmes advance while powered.
    for (const r of runtimes.values()) if (r.relayOn && r.remainingS > 0) r.remainingS--;
  }
  return { ...trace, tripped: trippedAtS !== undefined, trippedAtS, maxStress, guard };
}
