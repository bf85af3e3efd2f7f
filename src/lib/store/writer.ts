/**
 * Batched writes to the history database. Everything the aggregator verified is buffered in memory
 * and written in one transaction per flush (every few seconds), so the screen never waits on
 * storage and a crash loses at most the last batch, never a Wh: the energy cursor and the slots it
 * fed are written in the same transaction, so after a crash the next register reading counts again
 * from the last cursor that was committed.
 *
 * A failed flush (a full disk, say) keeps its batch and tries again; snapshots are the only thing
 * dropped when the backlog grows too long, and only after their rollups were taken.
 */
import { errorMessage } from '../errors';
import type { SlotShare } from './ledger';
import {
  type AggregateRow,
  chunkStart,
  type EnergyCursorRow,
  type EnergyDay,
  type EventRow,
  type HistoryDb,
  type LogEntry,
  type MeterInfo,
  type PendingGap,
  RollupSource,
  type RollupChunk,
  SlotQuality,
  type StoreName,
} from './schema';
import { appendToRawChunk, emptyRawChunk, emptyRollupChunk, foldAggregate, foldSnapshot, mergeRollups, ROLLUP_RESOLUTIONS, type StoredSnapshot } from './series';
import { SLOT_MS } from '../tariff/slot';

const DAY_MS = 86_400_000;
/** A meter's aggregate covers 10 minutes. */
const AGGREGATE_MS = 600_000;
const SLOTS_PER_DAY = DAY_MS / SLOT_MS;

export interface WriterOptions {
  /** Snapshots kept in memory while writes fail, before the oldest are dropped (rollups kept). */
  readonly maxBufferedSnapshots?: number;
}

export interface FlushResult {
  readonly ok: boolean;
  /** Rows written (puts and deletes). */
  readonly writes: number;
  readonly error?: string;
  /** The browser refused the write for lack of space. */
  readonly quotaExceeded?: boolean;
  /** Refused whole, the batch's ledger, registry and log were written alone: rows written so. */
  readonly essentialWrites?: number;
}

interface LedgerBatch {
  readonly shares: Map<number, { importMwh: number; exportMwh: number; quality: SlotQuality }>;
  cursor: EnergyCursorRow | undefined;
}

interface Batch {
  raw: Map<string, StoredSnapshot[]>;
  rollups: Map<string, RollupChunk>;
  ledger: Map<string, LedgerBatch>;
  gapsPut: Map<string, PendingGap>;
  gapsDeleted: Map<string, [string, number]>;
  events: EventRow[];
  aggregates: AggregateRow[];
  meters: Map<string, MeterInfo>;
  settings: Map<string, unknown>;
  log: LogEntry[];
  snapshots: number;
}

function emptyBatch(): Batch {
  return { raw: new Map(), rollups: new Map(), ledger: new Map(), gapsPut: new Map(), gapsDeleted: new Map(), events: [], aggregates: [], meters: new Map(), settings: new Map(), log: [], snapshots: 0 };
}

const rawKey = (uid: string, start: number) => `${uid}|${start}`;
const rollupKey = (uid: string, res: string, start: number) => `${uid}|${res}|${start}`;

export class HistoryWriter {
  readonly #db: HistoryDb;
  readonly #maxBuffered: number;
  #batch = emptyBatch();
  #flushing: Promise<FlushResult> | undefined;
  #droppedSnapshots = 0;

  constructor(db: HistoryDb, options: WriterOptions = {}) {
    this.#db = db;
    this.#maxBuffered = options.maxBufferedSnapshots ?? 200_000;
  }

  /** Snapshots dropped because writes kept failing (their rollups were kept). */
  get droppedSnapshots(): number {
    return this.#droppedSnapshots;
  }

  /** Items waiting for the next flush. */
  get pending(): number {
    const b = this.#batch;
    return b.snapshots + b.rollups.size + b.ledger.size + b.gapsPut.size + b.gapsDeleted.size + b.events.length + b.aggregates.length + b.meters.size + b.settings.size + b.log.length;
  }

  addSnapshot(uid: string, snapshot: StoredSnapshot): void {
    const b = this.#batch;
    const start = chunkStart('raw', snapshot.at);
    const key = rawKey(uid, start);
    const list = b.raw.get(key);
    if (list) list.push(snapshot);
    else b.raw.set(key, [snapshot]);
    b.snapshots++;
    for (const res of ROLLUP_RESOLUTIONS) foldSnapshot(this.#rollup(b, uid, res, snapshot.at), snapshot);
    if (b.snapshots > this.#maxBuffered) this.#dropOldestSnapshots(b);
  }

  /** Energy shares of a register difference, and the cursor that difference ended at. */
  addEnergy(uid: string, shares: readonly SlotShare[], quality: SlotQuality, cursor: EnergyCursorRow): void {
    let entry = this.#batch.ledger.get(uid);
    if (!entry) {
      entry = { shares: new Map(), cursor: undefined };
      this.#batch.ledger.set(uid, entry);
    }
    for (const share of shares) {
      const slot = entry.shares.get(share.start);
      if (slot) {
        slot.importMwh += share.importMwh;
        slot.exportMwh += share.exportMwh;
        slot.quality = Math.max(slot.quality, quality) as SlotQuality;
      } else {
        entry.shares.set(share.start, { importMwh: share.importMwh, exportMwh: share.exportMwh, quality });
      }
    }
    entry.cursor = cursor;
  }

  /** Only the cursor (a baseline, or a difference kept as a pending gap). */
  setCursor(cursor: EnergyCursorRow): void {
    this.addEnergy(cursor.uid, [], SlotQuality.MEASURED, cursor);
  }

  putGap(gap: PendingGap): void {
    const key = rawKey(gap.uid, gap.from);
    this.#batch.gapsDeleted.delete(key);
    this.#batch.gapsPut.set(key, gap);
  }

  deleteGap(uid: string, from: number): void {
    const key = rawKey(uid, from);
    this.#batch.gapsPut.delete(key);
    this.#batch.gapsDeleted.set(key, [uid, from]);
  }

  addEvent(event: EventRow): void {
    this.#batch.events.push(event);
  }

  addAggregate(aggregate: AggregateRow): void {
    this.#batch.aggregates.push(aggregate);
  }

  putMeter(meter: MeterInfo): void {
    this.#batch.meters.set(meter.uid, meter);
  }

  putSetting(key: string, value: unknown): void {
    this.#batch.settings.set(key, value);
  }

  log(entry: LogEntry): void {
    this.#batch.log.push(entry);
  }

  /**
   * Writes everything buffered in one transaction. Flushes never overlap: a call during a flush
   * waits for it and then writes what came in meanwhile.
   */
  async flush(): Promise<FlushResult> {
    while (this.#flushing) await this.#flushing;
    if (this.pending === 0) return { ok: true, writes: 0 };
    const batch = this.#batch;
    this.#batch = emptyBatch();
    this.#flushing = this.#write(batch).then(
      (writes) => ({ ok: true, writes }),
      (error: unknown) => {
        this.#requeue(batch);
        return { ok: false, writes: 0, error: errorMessage(error), quotaExceeded: isQuotaError(error) };
      },
    );
    try {
      return await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  /**
   * Writes only what is small and must survive a closed tab (the energy ledger and its cursors,
   * gaps, the registry, settings, events, the log), leaving snapshots, rollups and aggregates
   * buffered: what to do when the disk refuses the whole batch. Resolves like flush().
   */
  async flushEssentials(): Promise<FlushResult> {
    while (this.#flushing) await this.#flushing;
    const b = this.#batch;
    const essentials: Batch = { ...emptyBatch(), ledger: b.ledger, gapsPut: b.gapsPut, gapsDeleted: b.gapsDeleted, events: b.events, meters: b.meters, settings: b.settings, log: b.log };
    if (b.ledger.size + b.gapsPut.size + b.gapsDeleted.size + b.events.length + b.meters.size + b.settings.size + b.log.length === 0) return { ok: true, writes: 0 };
    this.#batch = { ...emptyBatch(), raw: b.raw, rollups: b.rollups, aggregates: b.aggregates, snapshots: b.snapshots };
    this.#flushing = this.#write(essentials).then(
      (writes) => ({ ok: true, writes }),
      (error: unknown) => {
        this.#requeue(essentials);
        return { ok: false, writes: 0, error: errorMessage(error), quotaExceeded: isQuotaError(error) };
      },
    );
    try {
      return await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  #rollup(b: Batch, uid: string, res: (typeof ROLLUP_RESOLUTIONS)[number], at: number): RollupChunk {
    const start = chunkStart(res, at);
    const key = rollupKey(uid, res, start);
    let chunk = b.rollups.get(key);
    if (!chunk) {
      chunk = emptyRollupChunk(uid, res, start);
      b.rollups.set(key, chunk);
    }
    return chunk;
  }

  #dropOldestSnapshots(b: Batch): void {
    // Whole minutes, oldest first, until a tenth of the limit is free again.
    const keys = [...b.raw.keys()].sort((x, y) => Number(x.split('|')[1]) - Number(y.split('|')[1]));
    for (const key of keys) {
      if (b.snapshots <= this.#maxBuffered * 0.9) break;
      const n = b.raw.get(key)?.length ?? 0;
      b.raw.delete(key);
      b.snapshots -= n;
      this.#droppedSnapshots += n;
    }
  }

  /** Puts a failed batch back in front of what arrived since, so nothing is lost or reordered. */
  #requeue(failed: Batch): void {
    const later = this.#batch;
    const merged = failed;
    for (const [key, list] of later.raw) {
      const existing = merged.raw.get(key);
      if (existing) existing.push(...list);
      else merged.raw.set(key, list);
    }
    merged.snapshots += later.snapshots;
    for (const [key, chunk] of later.rollups) {
      const existing = merged.rollups.get(key);
      merged.rollups.set(key, existing ? mergeRollups(existing, chunk) : chunk);
    }
    for (const [uid, entry] of later.ledger) {
      const existing = merged.ledger.get(uid);
      if (!existing) {
        merged.ledger.set(uid, entry);
        continue;
      }
      for (const [start, slot] of entry.shares) {
        const s = existing.shares.get(start);
        if (s) {
          s.importMwh += slot.importMwh;
          s.exportMwh += slot.exportMwh;
          s.quality = Math.max(s.quality, slot.quality) as SlotQuality;
        } else existing.shares.set(start, slot);
      }
      if (entry.cursor) existing.cursor = entry.cursor;
    }
    for (const [key, gap] of later.gapsPut) {
      merged.gapsDeleted.delete(key);
      merged.gapsPut.set(key, gap);
    }
    for (const [key, id] of later.gapsDeleted) {
      merged.gapsPut.delete(key);
      merged.gapsDeleted.set(key, id);
    }
    merged.events.push(...later.events);
    merged.aggregates.push(...later.aggregates);
    for (const [uid, meter] of later.meters) merged.meters.set(uid, meter);
    for (const [key, value] of later.settings) merged.settings.set(key, value);
    merged.log.push(...later.log);
    this.#batch = merged;
    if (merged.snapshots > this.#maxBuffered) this.#dropOldestSnapshots(merged);
  }

  async #write(b: Batch): Promise<number> {
    const stores = new Set<StoreName>();
    if (b.raw.size) stores.add('raw');
    if (b.rollups.size || b.aggregates.length) stores.add('rollups');
    if (b.ledger.size) stores.add('energy').add('cursors');
    if (b.gapsPut.size || b.gapsDeleted.size) stores.add('gaps');
    if (b.events.length) stores.add('events');
    if (b.aggregates.length) stores.add('aggregates');
    if (b.meters.size) stores.add('meters');
    if (b.settings.size) stores.add('settings');
    if (b.log.length) stores.add('log');
    const tx = this.#db.transaction([...stores], 'readwrite');
    const writes: Promise<unknown>[] = [];
    let count = 0;
    const put = (p: Promise<unknown>) => {
      count++;
      writes.push(p);
    };

    // Reads first, all at once, then every put: one round of the event loop per kind of row.
    if (b.raw.size) {
      const raw = tx.objectStore('raw');
      const entries = [...b.raw.entries()];
      const existing = await Promise.all(entries.map(([key]) => raw.get(parseRawKey(key))));
      entries.forEach(([key, snapshots], k) => {
        const [uid, start] = parseRawKey(key);
        const sorted = [...snapshots].sort((x, y) => x.at - y.at);
        put(raw.put(appendToRawChunk(existing[k] ?? emptyRawChunk(uid, start), sorted)));
      });
    }

    // A meter's aggregate is read again when a backfill overlaps an earlier one: fold each only once.
    let newAggregates: AggregateRow[] = [];
    if (b.aggregates.length) {
      const aggregates = tx.objectStore('aggregates');
      const stored = await Promise.all(b.aggregates.map((a) => aggregates.getKey([a.uid, a.start])));
      const seen = new Set<string>();
      newAggregates = b.aggregates.filter((a, k) => {
        const key = rawKey(a.uid, a.start);
        if (stored[k] !== undefined || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      for (const aggregate of newAggregates) put(aggregates.put(aggregate));
    }

    if (b.rollups.size || newAggregates.length) {
      const rollups = tx.objectStore('rollups');
      // Aggregates fill buckets the app has no snapshots of (it was closed): folded in only there.
      const touched = new Map<string, AggregateRow[]>();
      for (const aggregate of newAggregates) {
        for (const res of ROLLUP_RESOLUTIONS) {
          const starts = new Set([chunkStart(res, aggregate.start), chunkStart(res, aggregate.start + AGGREGATE_MS - 1)]);
          for (const start of starts) {
            const key = rollupKey(aggregate.uid, res, start);
            const list = touched.get(key);
            if (list) list.push(aggregate);
            else touched.set(key, [aggregate]);
          }
        }
      }
      const keys = [...new Set([...b.rollups.keys(), ...touched.keys()])];
      const existing = await Promise.all(keys.map((key) => rollups.get(parseRollupKey(key))));
      keys.forEach((key, k) => {
        const [uid, res, start] = parseRollupKey(key);
        let chunk = existing[k] ?? emptyRollupChunk(uid, res, start);
        const fresh = b.rollups.get(key);
        if (fresh) chunk = mergeRollups(chunk, fresh);
        const aggregates = touched.get(key);
        if (aggregates) {
          const scratch = emptyRollupChunk(uid, res, start);
          for (const aggregate of aggregates) foldAggregate(scratch, aggregate, AGGREGATE_MS);
          chunk = mergeWhereNoSnapshots(chunk, scratch);
        }
        put(rollups.put(chunk));
      });
    }

    if (b.ledger.size) {
      const energy = tx.objectStore('energy');
      const cursors = tx.objectStore('cursors');
      const days = new Map<string, { uid: string; start: number; slots: [number, { importMwh: number; exportMwh: number; quality: SlotQuality }][] }>();
      for (const [uid, entry] of b.ledger) {
        for (const [slot, share] of entry.shares) {
          const start = Math.floor(slot / DAY_MS) * DAY_MS;
          const key = rawKey(uid, start);
          let day = days.get(key);
          if (!day) {
            day = { uid, start, slots: [] };
            days.set(key, day);
          }
          day.slots.push([slot, share]);
        }
      }
      const dayList = [...days.values()];
      const existing = await Promise.all(dayList.map((d) => energy.get([d.uid, d.start])));
      dayList.forEach((d, k) => {
        const row: EnergyDay = existing[k] ?? { uid: d.uid, start: d.start, importMwh: new Float64Array(SLOTS_PER_DAY), exportMwh: new Float64Array(SLOTS_PER_DAY), quality: new Uint8Array(SLOTS_PER_DAY) };
        for (const [slot, share] of d.slots) {
          const i = (slot - d.start) / SLOT_MS;
          row.importMwh[i] = (row.importMwh[i] as number) + share.importMwh;
          row.exportMwh[i] = (row.exportMwh[i] as number) + share.exportMwh;
          row.quality[i] = Math.max(row.quality[i] as number, share.quality);
        }
        put(energy.put(row));
      });
      for (const entry of b.ledger.values()) if (entry.cursor) put(cursors.put(entry.cursor));
    }

    if (b.gapsPut.size || b.gapsDeleted.size) {
      const gaps = tx.objectStore('gaps');
      for (const gap of b.gapsPut.values()) put(gaps.put(gap));
      for (const id of b.gapsDeleted.values()) put(gaps.delete(id));
    }
    if (b.events.length) {
      const events = tx.objectStore('events');
      for (const event of b.events) put(events.put(event));
    }
    if (b.meters.size) {
      const meters = tx.objectStore('meters');
      for (const meter of b.meters.values()) put(meters.put(meter));
    }
    if (b.settings.size) {
      const settings = tx.objectStore('settings');
      for (const [key, value] of b.settings) put(settings.put(value, key));
    }
    if (b.log.length) {
      const log = tx.objectStore('log');
      for (const entry of b.log) put(log.add(entry));
    }
    await Promise.all([...writes, tx.done]);
    return count;
  }
}

function isQuotaError(error: unknown): boolean {
  return error instanceof DOMException ? error.name === 'QuotaExceededError' : /quota/i.test(errorMessage(error));
}

function parseRawKey(key: string): [string, number] {
  const [uid, start] = key.split('|');
  return [uid as string, Number(start)];
}

function parseRollupKey(key: string): [string, '1m' | '15m' | '1d', number] {
  const [uid, res, start] = key.split('|');
  return [uid as string, res as '1m' | '15m' | '1d', Number(start)];
}

/** `target` with `scratch`'s buckets added where `target` has no snapshots (a new chunk). */
function mergeWhereNoSnapshots(chunk: RollupChunk, scratch: RollupChunk): RollupChunk {
  const target = mergeRollups(chunk, emptyRollupChunk(chunk.uid, chunk.res, chunk.start));
  for (let k = 0; k < target.flagged.length; k++) {
    if ((scratch.sources[k] as number) === 0 || ((target.sources[k] as number) & RollupSource.SNAPSHOTS) !== 0) continue;
    target.flagged[k] = (target.flagged[k] as number) + (scratch.flagged[k] as number);
    target.sources[k] = (target.sources[k] as number) | (scratch.sources[k] as number);
    for (const q of Object.keys(target.stats) as (keyof RollupChunk['stats'])[]) {
      const t = target.stats[q];
      const s = scratch.stats[q];
      t.min[k] = Math.min(t.min[k] as number, s.min[k] as number);
      t.max[k] = Math.max(t.max[k] as number, s.max[k] as number);
      t.sum[k] = (t.sum[k] as number) + (s.sum[k] as number);
      t.n[k] = (t.n[k] as number) + (s.n[k] as number);
    }
  }
  return target;
}
