/**
 * Energy accounting from the meters' registers. The difference between two register readings is
 * the truth (docs/history.md "Energy"): polled power is never integrated, so missed polls, a closed
 * tab or a restart lose nothing. This module is pure: readings in, deltas and slot shares out.
 *
 * All energies are integer mWh, as the ENERGY record carries them; sums stay exact.
 */
import { SLOT_MS } from '../tariff/slot';

/** One ENERGY record as the ledger needs it. */
export interface RegisterReading {
  /** When the record arrived (aggregator clock), ms since the epoch. */
  readonly at: number;
  readonly importMwh: number;
  readonly exportMwh: number;
  /** Increments when the registers are cleared. */
  readonly epoch: number;
  /** Increments at every boot of the meter. */
  readonly boots: number;
}

/** Energy that flowed through a meter between two readings. */
export interface EnergyDelta {
  readonly from: number;
  readonly to: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

export type ReadingNote =
  /** The first reading of a meter: the baseline, nothing to count yet. */
  | 'baseline'
  /** An older reading (its registers stand below the last one's): nothing to count. */
  | 'out-of-order'
  /**
   * The aggregator's clock went back (a wrong clock corrected): the registers moved on, so what
   * they counted since the last reading is counted, at the new reading's time.
   */
  | 'clock-stepped-back'
  /**
   * The meter rebooted and resumed from the whole watt-hours it had persisted: what it counted
   * after the boot is counted, the sub-Wh remainder it lost at the power cut is lost to it too.
   */
  | 'reboot-resumed'
  /** CLEAR_ENERGY: the registers restarted from zero, so the new values are energy since the clear. */
  | 'cleared'
  /** Re-provisioned (boots went back): the registers restarted from zero. */
  | 'reprovisioned'
  /** The registers went back with no reboot or clear to explain it: a new baseline, and an alarm. */
  | 'unexplained-reset';

export interface ReadingOutcome {
  /** Undefined when nothing is to be counted. */
  readonly delta: EnergyDelta | undefined;
  /** The reading to take the next difference from. */
  readonly cursor: RegisterReading;
  readonly note: ReadingNote | undefined;
}

/** mWh per whole Wh: meters persist their registers per whole watt-hour. */
const PERSIST_STEP_MWH = 1000;

/**
 * What a new reading adds to the ledger, given the last one counted. Every register value is
 * counted once: a reboot, a clear or a re-provisioning restarts the differences without counting
 * anything twice.
 */
export function accountReading(cursor: RegisterReading | undefined, reading: RegisterReading): ReadingOutcome {
  if (!cursor) return { delta: undefined, cursor: reading, note: 'baseline' };
  const steppedBack = reading.at < cursor.at;
  const sameRun = reading.boots === cursor.boots && reading.epoch === cursor.epoch;
  if (steppedBack && sameRun && (reading.importMwh < cursor.importMwh || reading.exportMwh < cursor.exportMwh)) {
    return { delta: undefined, cursor, note: 'out-of-order' };
  }
  // Time only runs forward in the ledger: after a step back of the clock, the energy since the
  // last reading is placed at the new reading's time (the old one was wrong), never dropped.
  const span = steppedBack ? { from: reading.at, to: reading.at } : { from: cursor.at, to: reading.at };
  const outcome = accountAfter(cursor, reading, span);
  return steppedBack && outcome.note === undefined ? { ...outcome, note: 'clock-stepped-back' } : outcome;
}

function accountAfter(cursor: RegisterReading, reading: RegisterReading, span: { readonly from: number; readonly to: number }): ReadingOutcome {

  if (reading.boots < cursor.boots || reading.epoch < cursor.epoch) {
    // A fresh provisioning starts the registers, epoch and boots at zero.
    return { delta: { ...span, importMwh: reading.importMwh, exportMwh: reading.exportMwh }, cursor: reading, note: 'reprovisioned' };
  }
  if (reading.epoch > cursor.epoch) {
    // The clear happened after our last reading. Our own clear flow reads the registers right
    // before it confirms, so what flowed between that reading and the clear is at most a moment.
    return { delta: { ...span, importMwh: reading.importMwh, exportMwh: reading.exportMwh }, cursor: reading, note: 'cleared' };
  }
  const importMwh = registerDelta(cursor.importMwh, reading.importMwh, reading.boots > cursor.boots);
  const exportMwh = registerDelta(cursor.exportMwh, reading.exportMwh, reading.boots > cursor.boots);
  if (importMwh === undefined || exportMwh === undefined) {
    return { delta: undefined, cursor: reading, note: 'unexplained-reset' };
  }
  // A reboot is worth a line in the log whether or not the registers stand below the last reading.
  return {
    delta: importMwh === 0 && exportMwh === 0 && span.from === span.to ? undefined : { ...span, importMwh, exportMwh },
    cursor: reading,
    note: reading.boots > cursor.boots ? 'reboot-resumed' : undefined,
  };
}

/**
 * One register's difference. After a reboot a register may stand below our last reading: the
 * meter resumed from the last whole Wh it had persisted, which can only be floor(last) (it lies
 * between floor(last) and the new value, and the new value is below last). So what it counted
 * since the boot is `value - floor(last)`, exactly.
 */
function registerDelta(last: number, value: number, rebooted: boolean): number | undefined {
  if (value >= last) return value - last;
  if (!rebooted) return undefined;
  const resumedFrom = Math.floor(last / PERSIST_STEP_MWH) * PERSIST_STEP_MWH;
  return value >= resumedFrom ? value - resumedFrom : undefined;
}

/** A share of a delta that falls into one 15-minute slot. */
export interface SlotShare {
  /** Slot start, ms UTC. */
  readonly start: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/**
 * Known energy inside part of an interval (a meter's 10-minute aggregate): it shapes how a long
 * delta is spread over slots. The delta's total always wins.
 */
export interface EnergyHint {
  readonly from: number;
  readonly to: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/**
 * Splits a delta over the 15-minute slots it spans. Without hints, in proportion to time; with
 * hints (10-minute aggregates from the meter), each hint's energy lands where the meter measured it
 * and the rest of the delta spreads over the time no hint covers. Shares are integers and add up
 * to the delta exactly (largest remainder).
 */
export function spreadOverSlots(delta: EnergyDelta, hints: readonly EnergyHint[] = []): SlotShare[] {
  if (delta.to < delta.from) throw new RangeError(`delta ends (${delta.to}) before it starts (${delta.from})`);
  const slots = slotStarts(delta.from, delta.to);
  const importWeights = weights(delta, slots, hints, 'importMwh');
  const exportWeights = weights(delta, slots, hints, 'exportMwh');
  const imports = apportion(delta.importMwh, importWeights);
  const exports = apportion(delta.exportMwh, exportWeights);
  const shares: SlotShare[] = [];
  slots.forEach((start, k) => {
    const importMwh = imports[k] ?? 0;
    const exportMwh = exports[k] ?? 0;
    if (importMwh !== 0 || exportMwh !== 0) shares.push({ start, importMwh, exportMwh });
  });
  return shares;
}

function slotStarts(from: number, to: number): number[] {
  const first = Math.floor(from / SLOT_MS) * SLOT_MS;
  const starts = [first];
  // A delta that ends exactly on a boundary belongs to the slots before it.
  for (let s = first + SLOT_MS; s < to; s += SLOT_MS) starts.push(s);
  return starts;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Weight of each slot for one register: hinted energy where hints are, time elsewhere. */
function weights(delta: EnergyDelta, slots: readonly number[], hints: readonly EnergyHint[], key: 'importMwh' | 'exportMwh'): number[] {
  const { from, to } = delta;
  const total = delta[key];
  const inside = hints
    .map((h) => ({ h, covered: overlap(h.from, h.to, from, to) }))
    .filter(({ h, covered }) => covered > 0 && h.to > h.from);
  // The part of each hint that lies inside the delta, in proportion to time.
  const hinted = inside.reduce((sum, { h, covered }) => sum + (h[key] * covered) / (h.to - h.from), 0);
  const spanMs = Math.max(0, to - from);
  const coveredMs = Math.min(spanMs, inside.reduce((sum, { covered }) => sum + covered, 0));
  const uncoveredMs = spanMs - coveredMs;
  // What the hints do not explain spreads over the uncovered time; if they explain more than the
  // registers say (a reboot lost some), they are scaled down.
  const rest = Math.max(0, total - hinted);
  const hintScale = hinted > total && hinted > 0 ? total / hinted : 1;
  const perUncoveredMs = uncoveredMs > 0 ? rest / uncoveredMs : 0;

  return slots.map((start) => {
    const end = start + SLOT_MS;
    if (spanMs === 0) return 1;
    let w = 0;
    let coveredHere = 0;
    for (const { h } of inside) {
      const a = Math.max(h.from, from);
      const b = Math.min(h.to, to);
      const o = overlap(a, b, start, end);
      if (o === 0) continue;
      coveredHere += o;
      w += ((h[key] * o) / (h.to - h.from)) * hintScale;
    }
    const here = overlap(from, to, start, end);
    w += Math.max(0, here - coveredHere) * perUncoveredMs;
    // Hints that cover all the time but explain less than the total: spread the rest by time.
    if (uncoveredMs === 0 && rest > 0) w += (here / spanMs) * rest;
    return w;
  });
}

/** Splits an integer total in proportion to weights; the parts are integers summing to the total. */
export function apportion(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`cannot apportion ${total}: not a non-negative integer`);
  if (weights.length === 0) {
    if (total !== 0) throw new RangeError(`cannot apportion ${total} over nothing`);
    return [];
  }
  const clean = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 0));
  let sum = clean.reduce((a, b) => a + b, 0);
  // No information at all: equal parts.
  const use = sum > 0 ? clean : clean.map(() => 1);
  if (sum <= 0) sum = use.length;
  const exact = use.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, k) => ({ k, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.k - b.k);
  for (let j = 0; left > 0; j = (j + 1) % order.length, left--) {
    const k = (order[j] as { k: number }).k;
    parts[k] = (parts[k] as number) + 1;
  }
  return parts;
}
