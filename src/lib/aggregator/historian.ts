/**
 * The household's record: takes what the aggregator verified and keeps it in the history store.
 *
 * - the registry: every meter that proved its uid, with the name, kind and priority the user gave;
 * - snapshots at full rate and their rollups (batched by HistoryWriter);
 * - energy from register differences only (ledger.ts), the cursor and the slots in one transaction;
 * - after a gap (the app closed, the adapter out, a meter silent) the meters' 10-minute aggregates
 *   of the last 24 hours fill the power profile and place the gap's energy in its slots;
 * - the meters' dip/swell/interruption events, read when a flagged window shows one;
 * - a log of what happened (reboots, clears, gaps, rejected bursts, storage trouble).
 */
import { errorMessage } from '../errors';
import { type AggregateRecord, type EnergyRecord, type EventRecord, MAX_READ_COUNT, type SnapshotRecord, type StatusRecord } from '../meter/records';
import { accountReading, type EnergyHint, type ReadingNote, type RegisterReading, spreadOverSlots } from '../store/ledger';
import { prune, type PruneResult, type RetentionPolicy, DEFAULT_RETENTION } from '../store/retention';
import {
  type AggregateRow,
  type EnergyCursorRow,
  type EventRow,
  type HistoryDb,
  type LogEntry,
  type LogLevel,
  type MeterInfo,
  type MeterKind,
  type PendingGap,
  SlotQuality,
} from '../store/schema';
import { type FlushResult, HistoryWriter } from '../store/writer';
import type { Aggregator, AggregatorListener } from './aggregator';

/** A register difference longer than this is a gap: placed with the meter's aggregates. */
export const GAP_MS = 5 * 60_000;
/** Meters keep 24 hours of 10-minute aggregates. */
const AGGREGATE_HISTORY_MS = 24 * 3_600_000;
const AGGREGATE_MS = 600_000;
/** The event log is read at least this often, ms. */
const EVENT_READ_MS = 10 * 60_000;

export interface HistorianOptions {
  readonly now?: () => number;
  /** Name and kind for a meter seen for the first time (the demo knows its loads). */
  readonly meterHint?: (node: number) => { readonly name?: string; readonly kind?: MeterKind } | undefined;
  readonly retention?: RetentionPolicy;
  /** The browser's storage figure; an estimate from the rows otherwise. */
  readonly estimateBytes?: () => Promise<number | undefined>;
  readonly maxBufferedSnapshots?: number;
}

export interface HistorianListener {
  meters?(meters: readonly MeterInfo[]): void;
  log?(entry: LogEntry): void;
  flushed?(result: FlushResult): void;
}

export type MeterPatch = Partial<Pick<MeterInfo, 'name' | 'kind' | 'priority' | 'gridPoint' | 'interruptible'>>;

interface MeterState {
  info: MeterInfo;
  node: number;
  cursor: EnergyCursorRow | undefined;
  gaps: PendingGap[];
  /** Highest event seq stored. */
  lastEventSeq: number;
  /** Start of the newest aggregate stored, ms. */
  lastAggregate: number;
  /** A backfill of aggregates is queued or running. */
  backfilling: boolean;
  /** Another was asked for meanwhile (a gap appeared after this one had read): run it after. */
  backfillAgain: boolean;
  eventsDue: boolean;
  /** When the event log was last read, ms. */
  eventsReadAt: number;
}

export interface HistorianStatus {
  readonly pendingWrites: number;
  readonly lastFlushAt: number | undefined;
  readonly lastError: string | undefined;
  readonly storageFull: boolean;
  /** History reads (aggregates, events) queued or running. */
  readonly backfillsRunning: number;
  readonly droppedSnapshots: number;
}

export class Historian {
  readonly #db: HistoryDb;
  readonly #writer: HistoryWriter;
  readonly #now: () => number;
  readonly #options: HistorianOptions;
  readonly #meters = new Map<string, MeterState>();
  readonly #byNode = new Map<number, string>();
  readonly #listeners = new Set<HistorianListener>();
  #aggregator: Aggregator | undefined;
  #unsubscribe: (() => void) | undefined;
  #jobs: Promise<void> = Promise.resolve();
  #jobsRunning = 0;
  #lastFlushAt: number | undefined;
  #lastError: string | undefined;
  #storageFull = false;
  #closed = false;

  private constructor(db: HistoryDb, options: HistorianOptions) {
    this.#db = db;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    this.#writer = new HistoryWriter(db, options.maxBufferedSnapshots === undefined ? {} : { maxBufferedSnapshots: options.maxBufferedSnapshots });
  }

  /** Loads the registry, the energy cursors and what is known of each meter's history. */
  static async open(db: HistoryDb, options: HistorianOptions = {}): Promise<Historian> {
    const historian = new Historian(db, options);
    const [meters, cursors, gaps] = await Promise.all([db.getAll('meters'), db.getAll('cursors'), db.getAll('gaps')]);
    for (const info of meters) {
      const state: MeterState = {
        info,
        node: info.node,
        cursor: cursors.find((c) => c.uid === info.uid),
        gaps: gaps.filter((g) => g.uid === info.uid),
        lastEventSeq: await lastKeyPart(db, 'events', info.uid),
        lastAggregate: await lastKeyPart(db, 'aggregates', info.uid),
        backfilling: false,
        backfillAgain: false,
        eventsDue: true,
        eventsReadAt: 0,
      };
      historian.#meters.set(info.uid, state);
      historian.#byNode.set(info.node, info.uid);
    }
    return historian;
  }

  get db(): HistoryDb {
    return this.#db;
  }

  get meters(): MeterInfo[] {
    return [...this.#meters.values()].map((m) => m.info).sort((a, b) => a.node - b.node);
  }

  meter(uid: string): MeterInfo | undefined {
    return this.#meters.get(uid)?.info;
  }

  /** Energy counted for a meter since it joined (the ledger's running total), mWh. */
  counted(uid: string): { importMwh: number; exportMwh: number } {
    const cursor = this.#meters.get(uid)?.cursor;
    return { importMwh: cursor?.countedImportMwh ?? 0, exportMwh: cursor?.countedExportMwh ?? 0 };
  }

  uidOfNode(node: number): string | undefined {
    return this.#byNode.get(node);
  }

  get status(): HistorianStatus {
    return {
      pendingWrites: this.#writer.pending,
      lastFlushAt: this.#lastFlushAt,
      lastError: this.#lastError,
      storageFull: this.#storageFull,
      backfillsRunning: this.#jobsRunning,
      droppedSnapshots: this.#writer.droppedSnapshots,
    };
  }

  subscribe(listener: HistorianListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records what `aggregator` verifies from now on. One aggregator at a time. */
  attach(aggregator: Aggregator): () => void {
    this.#unsubscribe?.();
    this.#aggregator = aggregator;
    const listener: AggregatorListener = {
      meter: (node, uidHex, status) => this.#identified(node, uidHex, status),
      snapshot: (reading) => this.#snapshot(reading.node, reading.record, reading.at),
      energy: (node, record, at) => this.#energy(node, record, at),
      // STATUS comes every minute: the event log is read every ten, besides when a window is flagged.
      status: (node, _record, at) => {
        const state = this.#stateOfNode(node);
        if (state && !state.eventsDue && at - state.eventsReadAt >= EVENT_READ_MS) {
          state.eventsDue = true;
          this.#queueEvents(state);
        }
      },
    };
    const off = aggregator.subscribe(listener);
    this.#unsubscribe = () => {
      off();
      if (this.#aggregator === aggregator) this.#aggregator = undefined;
    };
    return this.#unsubscribe;
  }

  /** The user named or classified a meter. */
  updateMeter(uid: string, patch: MeterPatch): MeterInfo {
    const state = this.#meters.get(uid);
    if (!state) throw new Error(`no meter with uid ${uid}`);
    if (patch.name !== undefined && patch.name.trim() === '') throw new RangeError('a meter needs a name');
    if (patch.priority !== undefined && (!Number.isInteger(patch.priority) || patch.priority < 1 || patch.priority > 99)) throw new RangeError('priority is 1 (most important) to 99');
    state.info = { ...state.info, ...patch, ...(patch.name === undefined ? {} : { name: patch.name.trim() }) };
    if (patch.gridPoint) {
      // One grid connection point per site.
      for (const other of this.#meters.values()) {
        if (other !== state && other.info.gridPoint) {
          other.info = { ...other.info, gridPoint: false };
          this.#writer.putMeter(other.info);
        }
      }
    }
    this.#writer.putMeter(state.info);
    this.#emitMeters();
    return state.info;
  }

  /**
   * A meter as another site's aggregator registered it (a remote viewer's replica): taken as it
   * is, names and all, and written with the next flush.
   */
  adoptMeter(info: MeterInfo): void {
    const state = this.#meters.get(info.uid);
    if (state) {
      state.info = info;
      state.node = info.node;
    } else {
      this.#meters.set(info.uid, { info, node: info.node, cursor: undefined, gaps: [], lastEventSeq: 0, lastAggregate: 0, backfilling: false, backfillAgain: false, eventsDue: false, eventsReadAt: 0 });
    }
    for (const [n, u] of this.#byNode) if (u === info.uid && n !== info.node) this.#byNode.delete(n);
    this.#byNode.set(info.node, info.uid);
    this.#writer.putMeter(info);
    this.#emitMeters();
  }

  /** Rows another writer (a remote viewer's replica) put in the database: the screens read again. */
  written(writes: number): void {
    for (const l of this.#listeners) l.flushed?.({ ok: true, writes });
  }

  /** Writes what is buffered; on a full disk, prunes by the retention policy and tries once more. */
  async flush(): Promise<FlushResult> {
    let result = await this.#writer.flush();
    if (!result.ok && result.quotaExceeded) {
      this.#storageFull = true;
      await this.prune().catch(() => undefined);
      result = await this.#writer.flush();
      if (!result.ok && result.quotaExceeded) {
        // Still no room for the batch: the energy ledger alone is a few rows, and it is the bill.
        const essentials = await this.#writer.flushEssentials();
        if (essentials.ok) result = { ...result, essentialWrites: essentials.writes };
      }
    }
    if (result.ok) {
      this.#lastFlushAt = this.#now();
      this.#lastError = undefined;
      if (result.writes > 0) this.#storageFull = false;
    } else {
      this.#lastError = result.error;
    }
    for (const l of this.#listeners) l.flushed?.(result);
    return result;
  }

  async prune(): Promise<PruneResult> {
    return prune(this.#db, this.#options.retention ?? DEFAULT_RETENTION, this.#now(), this.#options.estimateBytes);
  }

  /**
   * Reads each meter's aggregates since the newest this store has (at most 24 hours back), and
   * places pending gaps. Runs on start and after every reconnection; jobs run one at a time.
   */
  backfillAll(): void {
    for (const state of this.#meters.values()) this.#queueBackfill(state);
  }

  /** Waits for the backfill and event jobs queued so far. */
  async idle(): Promise<void> {
    let jobs: Promise<void>;
    do {
      jobs = this.#jobs;
      await jobs;
    } while (jobs !== this.#jobs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    await this.flush();
  }

  // -------------------------------------------------------------------------------------------

  #identified(node: number, uid: string, status: StatusRecord): void {
    const now = this.#now();
    const firmware = `${status.firmwareMajor}.${status.firmwareMinor}.${status.build}`;
    let state = this.#meters.get(uid);
    if (!state) {
      const info: MeterInfo = {
        uid,
        node,
        name: this.#options.meterHint?.(node)?.name ?? `Meter ${node}`,
        kind: this.#options.meterHint?.(node)?.kind ?? 'load',
        priority: 50,
        gridPoint: false,
        interruptible: true,
        firmware,
        firstSeen: now,
        lastSeen: now,
      };
      state = { info, node, cursor: undefined, gaps: [], lastEventSeq: 0, lastAggregate: 0, backfilling: false, backfillAgain: false, eventsDue: true, eventsReadAt: 0 };
      this.#meters.set(uid, state);
      this.#log('info', 'meter-joined', `${info.name} (node ${node}, uid ${uid}) joined the bus`, uid);
    } else {
      if (state.node !== node) this.#log('info', 'meter-moved', `${state.info.name} now answers on node ${node} (was ${state.node})`, uid);
      state.info = { ...state.info, node, firmware, lastSeen: now };
      state.node = node;
    }
    for (const [n, u] of this.#byNode) if (u === uid && n !== node) this.#byNode.delete(n);
    this.#byNode.set(node, uid);
    this.#writer.putMeter(state.info);
    this.#emitMeters();
    this.#queueBackfill(state);
  }

  #snapshot(node: number, record: SnapshotRecord, at: number): void {
    const state = this.#stateOfNode(node);
    if (!state) return;
    this.#writer.addSnapshot(state.info.uid, { at, fields: record });
    if (record.windowFlagged && !state.eventsDue) {
      state.eventsDue = true;
      this.#queueEvents(state);
    }
  }

  #energy(node: number, record: EnergyRecord, at: number): void {
    const state = this.#stateOfNode(node);
    if (!state) return;
    const uid = state.info.uid;
    const reading: RegisterReading = { at, importMwh: record.importMwh, exportMwh: record.exportMwh, epoch: record.epoch, boots: record.boots };
    const outcome = accountReading(state.cursor, reading);
    this.#noteReading(state, outcome.note, record);
    const delta = outcome.delta;
    const cursor: EnergyCursorRow = {
      uid,
      ...outcome.cursor,
      countedImportMwh: (state.cursor?.countedImportMwh ?? 0) + (delta?.importMwh ?? 0),
      countedExportMwh: (state.cursor?.countedExportMwh ?? 0) + (delta?.exportMwh ?? 0),
    };
    state.cursor = cursor;
    if (!delta) {
      this.#writer.setCursor(cursor);
      return;
    }
    if (delta.to - delta.from <= GAP_MS) {
      this.#writer.addEnergy(uid, spreadOverSlots(delta), SlotQuality.MEASURED, cursor);
      return;
    }
    // Counted now (the cursor moves with it), placed once the meter's aggregates are in.
    const gap: PendingGap = { uid, ...delta };
    state.gaps.push(gap);
    this.#writer.putGap(gap);
    this.#writer.setCursor(cursor);
    this.#log('info', 'gap', `${state.info.name}: ${formatWh(delta.importMwh)} imported and ${formatWh(delta.exportMwh)} exported over ${formatSpan(delta.to - delta.from)} without readings; placing it with the meter's aggregates`, uid);
    this.#queueBackfill(state);
  }

  #noteReading(state: MeterState, note: ReadingNote | undefined, record: EnergyRecord): void {
    const name = state.info.name;
    switch (note) {
      case 'reboot-resumed':
        this.#log('info', 'meter-rebooted', `${name} rebooted (boot ${record.boots}) and resumed from its persisted registers`, state.info.uid);
        break;
      case 'cleared':
        this.#log('warning', 'registers-cleared', `${name}'s energy registers were cleared (epoch ${record.epoch}); counting continues from zero`, state.info.uid);
        break;
      case 'reprovisioned':
        this.#log('warning', 'meter-reprovisioned', `${name} was provisioned again; its registers restarted from zero`, state.info.uid);
        break;
      case 'clock-stepped-back':
        this.#log('warning', 'clock-stepped-back', `the clock went back (a wrong clock was corrected): ${name}'s energy since its last reading is counted at the corrected time`, state.info.uid);
        break;
      case 'unexplained-reset':
        this.#log('alarm', 'registers-went-back', `${name}'s registers went back with no reboot or clear to explain it; counting restarts from the new values`, state.info.uid);
        break;
      default:
        break;
    }
  }

  #stateOfNode(node: number): MeterState | undefined {
    const uid = this.#byNode.get(node) ?? this.#aggregator?.uidOf(node);
    return uid ? this.#meters.get(uid) : undefined;
  }

  #queueBackfill(state: MeterState): void {
    if (this.#closed) return;
    if (state.backfilling) {
      state.backfillAgain = true;
      return;
    }
    state.backfilling = true;
    this.#queue(async () => {
      try {
        await this.#backfill(state);
      } finally {
        state.backfilling = false;
        if (state.backfillAgain) {
          state.backfillAgain = false;
          this.#queueBackfill(state);
        }
      }
    });
  }

  #queueEvents(state: MeterState): void {
    this.#queue(async () => {
      try {
        await this.#readEvents(state);
      } finally {
        state.eventsDue = false;
      }
    });
  }

  #queue(job: () => Promise<void>): void {
    this.#jobsRunning++;
    this.#jobs = this.#jobs.then(async () => {
      try {
        await job();
      } catch (error) {
        this.#log('warning', 'history-read-failed', `reading a meter's history failed: ${errorMessage(error)}`);
      } finally {
        this.#jobsRunning--;
      }
    });
  }

  async #backfill(state: MeterState): Promise<void> {
    const aggregator = this.#aggregator;
    if (!aggregator || !aggregator.uidOf(state.node)) return;
    const now = this.#now();
    const oldestGap = state.gaps.reduce((t, g) => Math.min(t, g.from), Infinity);
    const newestKnown = Math.max(state.lastAggregate + AGGREGATE_MS, state.cursor?.at ?? 0);
    const from = Math.max(now - AGGREGATE_HISTORY_MS, Math.min(oldestGap, newestKnown));
    if (now - from > GAP_MS || state.gaps.length > 0) {
      let fromS = Math.floor(from / AGGREGATE_MS) * (AGGREGATE_MS / 1000);
      for (;;) {
        const read = await aggregator.readAggregates(state.node, fromS, MAX_READ_COUNT);
        const rows = read.records.map((r) => aggregateRow(state.info.uid, r));
        for (const row of rows) {
          this.#writer.addAggregate(row);
          state.lastAggregate = Math.max(state.lastAggregate, row.start);
        }
        if (read.records.length < MAX_READ_COUNT) break;
        fromS = Math.max(...read.records.map((r) => r.startS)) + AGGREGATE_MS / 1000;
      }
    }
    await this.#placeGaps(state);
    if (state.eventsDue) await this.#readEvents(state);
  }

  /** Places each pending gap's energy in slots, shaped by the aggregates that cover it. */
  async #placeGaps(state: MeterState): Promise<void> {
    if (state.gaps.length === 0) return;
    await this.flush(); // the aggregates just read, so the query below sees them
    for (const gap of [...state.gaps]) {
      const rows = await this.#db.getAll('aggregates', IDBKeyRange.bound([gap.uid, gap.from - AGGREGATE_MS], [gap.uid, gap.to]));
      const hints: EnergyHint[] = rows.map((a) => ({ from: a.start, to: a.start + AGGREGATE_MS, importMwh: a.importMwh, exportMwh: a.exportMwh }));
      const shares = spreadOverSlots(gap, hints);
      const cursor = state.cursor;
      if (!cursor) continue;
      this.#writer.addEnergy(gap.uid, shares, hints.length > 0 ? SlotQuality.FROM_AGGREGATES : SlotQuality.SPREAD, cursor);
      this.#writer.deleteGap(gap.uid, gap.from);
      state.gaps = state.gaps.filter((g) => g !== gap);
    }
  }

  async #readEvents(state: MeterState): Promise<void> {
    const aggregator = this.#aggregator;
    if (!aggregator || !aggregator.uidOf(state.node)) return;
    state.eventsReadAt = this.#now();
    let fromSeq = state.lastEventSeq + 1;
    for (;;) {
      const read = await aggregator.readEvents(state.node, fromSeq, MAX_READ_COUNT);
      for (const record of read.records) {
        const row = eventRow(state.info.uid, record);
        this.#writer.addEvent(row);
        state.lastEventSeq = Math.max(state.lastEventSeq, row.seq);
      }
      if (read.records.length < MAX_READ_COUNT) break;
      fromSeq = state.lastEventSeq + 1;
    }
  }

  #log(level: LogLevel, code: string, message: string, uid?: string): void {
    const entry: LogEntry = { at: this.#now(), level, code, message, ...(uid ? { uid } : {}) };
    this.#writer.log(entry);
    for (const l of this.#listeners) l.log?.(entry);
  }

  /** A site setting, written with the next flush (in the same database as the history). */
  putSetting(key: string, value: unknown): void {
    this.#writer.putSetting(key, value);
  }

  /** Logs from outside the historian (the state layer's alarms) go to the same log. */
  log(level: LogLevel, code: string, message: string, uid?: string): void {
    this.#log(level, code, message, uid);
  }

  #emitMeters(): void {
    const meters = this.meters;
    for (const l of this.#listeners) l.meters?.(meters);
  }
}

async function lastKeyPart(db: HistoryDb, store: 'events' | 'aggregates', uid: string): Promise<number> {
  const cursor = await db.transaction(store).store.openKeyCursor(IDBKeyRange.bound([uid, -Infinity], [uid, Infinity]), 'prev');
  const key = cursor?.key as [string, number] | undefined;
  return key ? key[1] : 0;
}

export function aggregateRow(uid: string, r: AggregateRecord): AggregateRow {
  return {
    uid,
    start: r.startS * 1000,
    flagged: r.flagged,
    pMean: r.wattsMean,
    pMin: r.wattsMin,
    pMax: r.wattsMax,
    vMean: r.voltsMean,
    vMin: r.voltsMin,
    vMax: r.voltsMax,
    fMean: r.hertzMean,
    thdV: r.thdVoltagePercent,
    thdI: r.thdCurrentPercent,
    importMwh: r.importMwh,
    exportMwh: r.exportMwh,
  };
}

export function eventRow(uid: string, r: EventRecord): EventRow {
  return { uid, seq: r.seq, kind: r.kindName, start: r.startS * 1000 + r.startMs, durationMs: r.durationMs, extremeV: r.extremeVolts };
}

function formatWh(mwh: number): string {
  return `${(mwh / 1000).toFixed(mwh < 10_000 ? 1 : 0)} Wh`;
}

function formatSpan(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}
