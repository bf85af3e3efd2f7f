/**
 * Reading the history back: series for charts (at the resolution a range needs), the energy
 * ledger per slot for the bill, events and the log.
 */
import { SLOT_MS } from '../tariff/slot';
import { BUCKET_MS, CHUNK_MS, type EnergyDay, type EventRow, type HistoryDb, type LogEntry, type MeterInfo, type RawChunk, type Resolution, type RollupChunk, type RollupQuantity, type SnapshotQuantity } from './schema';
import { physical, rawFields, type RollupResolution } from './series';

const DAY_MS = 86_400_000;

/** Columns of a series: time, and mean/min/max per point (equal for raw snapshots). */
export interface Series {
  readonly uid: string;
  readonly quantity: RollupQuantity;
  readonly resolution: Resolution;
  /** ms UTC: the snapshot's arrival, or the bucket's start. */
  readonly t: Float64Array;
  readonly mean: Float32Array;
  readonly min: Float32Array;
  readonly max: Float32Array;
}

/**
 * The resolution a chart of `spanMs` needs: full rate up to 6 hours, 1-minute buckets up to a
 * week, 15-minute buckets up to half a year, days beyond.
 */
export function resolutionFor(spanMs: number): Resolution {
  if (spanMs <= 6 * 3_600_000) return 'raw';
  if (spanMs <= 7 * DAY_MS) return '1m';
  if (spanMs <= 183 * DAY_MS) return '15m';
  return '1d';
}

const COARSER: Readonly<Record<Resolution, Resolution | undefined>> = { raw: '1m', '1m': '15m', '15m': '1d', '1d': undefined };

export interface SeriesQuery {
  readonly uid: string;
  readonly quantity: RollupQuantity;
  readonly from: number;
  readonly to: number;
  /** Default: resolutionFor(to - from). */
  readonly resolution?: Resolution;
}

/**
 * A series over [from, to). Where the resolution asked for has been pruned by the retention
 * policy, the next coarser one fills in, so an old range still shows.
 */
export async function readSeries(db: HistoryDb, query: SeriesQuery): Promise<Series> {
  const wanted = query.resolution ?? resolutionFor(query.to - query.from);
  const parts: Series[] = [];
  let covered = query.to;
  for (let res: Resolution | undefined = wanted; res && covered > query.from; res = COARSER[res]) {
    // A coarser resolution only fills in before the finer data, with whole buckets.
    const filling = res !== wanted;
    const part = res === 'raw' ? await readRaw(db, query, covered) : await readRollup(db, query, res, covered, filling);
    if (part.t.length > 0) {
      parts.unshift(part);
      covered = part.t[0] as number;
    }
  }
  return concatSeries(query, wanted, parts);
}

function seriesOf(query: SeriesQuery, resolution: Resolution, length: number): Series {
  return { uid: query.uid, quantity: query.quantity, resolution, t: new Float64Array(length), mean: new Float32Array(length), min: new Float32Array(length), max: new Float32Array(length) };
}

function concatSeries(query: SeriesQuery, resolution: Resolution, parts: readonly Series[]): Series {
  if (parts.length === 1) return parts[0] as Series;
  const out = seriesOf(query, resolution, parts.reduce((n, p) => n + p.t.length, 0));
  let at = 0;
  for (const p of parts) {
    out.t.set(p.t, at);
    out.mean.set(p.mean, at);
    out.min.set(p.min, at);
    out.max.set(p.max, at);
    at += p.t.length;
  }
  return out;
}

async function readRaw(db: HistoryDb, query: SeriesQuery, before: number): Promise<Series> {
  const from = Math.floor(query.from / CHUNK_MS.raw) * CHUNK_MS.raw;
  const chunks: RawChunk[] = await db.getAll('raw', IDBKeyRange.bound([query.uid, from], [query.uid, before], false, true));
  let length = 0;
  for (const c of chunks) length += c.t.length;
  const out = seriesOf(query, 'raw', length);
  let j = 0;
  for (const c of chunks) {
    for (let k = 0; k < c.t.length; k++) {
      const t = c.start + (c.t[k] as number);
      if (t < query.from || t >= before) continue;
      const v = physical(rawFields(c, k))[query.quantity];
      if (v === undefined) continue;
      out.t[j] = t;
      out.mean[j] = v;
      out.min[j] = v;
      out.max[j] = v;
      j++;
    }
  }
  return trim(out, j);
}

async function readRollup(db: HistoryDb, query: SeriesQuery, res: RollupResolution, before: number, wholeBucketsOnly: boolean): Promise<Series> {
  const from = Math.floor(query.from / CHUNK_MS[res]) * CHUNK_MS[res];
  const chunks: RollupChunk[] = await db.getAll('rollups', IDBKeyRange.bound([query.uid, res, from], [query.uid, res, before], false, true));
  const bucketMs = BUCKET_MS[res];
  let length = 0;
  for (const c of chunks) length += c.flagged.length;
  const out = seriesOf(query, res, length);
  let j = 0;
  for (const c of chunks) {
    const s = c.stats[query.quantity];
    for (let k = 0; k < c.flagged.length; k++) {
      const n = s.n[k] as number;
      const t = c.start + k * bucketMs;
      if (n === 0 || t + bucketMs <= query.from || t >= before || (wholeBucketsOnly && t + bucketMs > before)) continue;
      out.t[j] = t;
      out.mean[j] = (s.sum[k] as number) / n;
      out.min[j] = s.min[k] as number;
      out.max[j] = s.max[k] as number;
      j++;
    }
  }
  return trim(out, j);
}

function trim(s: Series, length: number): Series {
  if (length === s.t.length) return s;
  return { ...s, t: s.t.slice(0, length), mean: s.mean.slice(0, length), min: s.min.slice(0, length), max: s.max.slice(0, length) };
}

/** Every snapshot quantity of the raw chunks in a range, for export. */
export async function readRawChunks(db: HistoryDb, uid: string, from: number, to: number): Promise<RawChunk[]> {
  const start = Math.floor(from / CHUNK_MS.raw) * CHUNK_MS.raw;
  return db.getAll('raw', IDBKeyRange.bound([uid, start], [uid, to], false, true));
}

export type { SnapshotQuantity };

/**
 * Energy of one meter in one 15-minute slot, from register differences (the input of the bill).
 * `meterId` is the meter's uid.
 */
export interface SlotEnergy {
  readonly meterId: string;
  /** ms UTC, slot start. */
  readonly start: number;
  /** Integers, mWh. */
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** The ledger's slots of the given meters in [from, to), only those with energy. */
export async function readSlotEnergy(db: HistoryDb, uids: readonly string[], from: number, to: number): Promise<SlotEnergy[]> {
  const out: SlotEnergy[] = [];
  for (const uid of uids) {
    const days: EnergyDay[] = await db.getAll('energy', IDBKeyRange.bound([uid, Math.floor(from / DAY_MS) * DAY_MS], [uid, to], false, true));
    for (const day of days) {
      for (let k = 0; k < day.importMwh.length; k++) {
        const start = day.start + k * SLOT_MS;
        const importMwh = day.importMwh[k] as number;
        const exportMwh = day.exportMwh[k] as number;
        if (start < from || start >= to || (importMwh === 0 && exportMwh === 0)) continue;
        out.push({ meterId: uid, start, importMwh, exportMwh });
      }
    }
  }
  return out;
}

/** Energy summed into buckets whose starts `bucketOf` gives (hours, local days, months…). */
export interface EnergyBucket {
  readonly start: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

export async function readEnergyBuckets(db: HistoryDb, uid: string, from: number, to: number, bucketOf: (ms: number) => number): Promise<EnergyBucket[]> {
  const buckets = new Map<number, { importMwh: number; exportMwh: number }>();
  for (const slot of await readSlotEnergy(db, [uid], from, to)) {
    const start = bucketOf(slot.start);
    const b = buckets.get(start);
    if (b) {
      b.importMwh += slot.importMwh;
      b.exportMwh += slot.exportMwh;
    } else buckets.set(start, { importMwh: slot.importMwh, exportMwh: slot.exportMwh });
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b).map(([start, e]) => ({ start, ...e }));
}

/** Total energy the ledger holds for a meter (all time), mWh. */
export async function ledgerTotal(db: HistoryDb, uid: string): Promise<{ importMwh: number; exportMwh: number }> {
  let importMwh = 0;
  let exportMwh = 0;
  const days: EnergyDay[] = await db.getAll('energy', IDBKeyRange.bound([uid, -Infinity], [uid, Infinity]));
  for (const day of days) {
    for (let k = 0; k < day.importMwh.length; k++) {
      importMwh += day.importMwh[k] as number;
      exportMwh += day.exportMwh[k] as number;
    }
  }
  return { importMwh, exportMwh };
}

export async function listMeters(db: HistoryDb): Promise<MeterInfo[]> {
  return (await db.getAll('meters')).sort((a, b) => a.node - b.node || a.uid.localeCompare(b.uid));
}

/** Events of all meters (or one) that started in [from, to), oldest first. */
export async function readEvents(db: HistoryDb, from: number, to: number, uid?: string): Promise<EventRow[]> {
  const rows = await db.getAllFromIndex('events', 'start', IDBKeyRange.bound(from, to, false, true));
  return uid ? rows.filter((r) => r.uid === uid) : rows;
}

export async function readLog(db: HistoryDb, from: number, to: number): Promise<LogEntry[]> {
  return db.getAllFromIndex('log', 'at', IDBKeyRange.bound(from, to, false, true));
}
