/**
 * Chunk arithmetic for the time series: appending snapshots to a raw chunk, folding values into
 * rollup buckets, merging two partial rollups of the same buckets. Pure; the writer does the I/O.
 *
 * Rollups keep min, max, sum and count, which merge associatively: a bucket written in several
 * flushes, or by two sessions of the app on either side of a restart, ends up exactly as if it had
 * been computed at once.
 */
import { THD_NOT_MEASURED, type SnapshotFields, SnapshotFlag } from '../meter/records';
import {
  type AggregateRow,
  BUCKET_MS,
  type BucketStats,
  CHUNK_MS,
  type RawChunk,
  type Resolution,
  ROLLUP_QUANTITIES,
  type RollupChunk,
  type RollupQuantity,
  RollupSource,
} from './schema';

export type RollupResolution = Exclude<Resolution, 'raw'>;
export const ROLLUP_RESOLUTIONS: readonly RollupResolution[] = ['1m', '15m', '1d'];

/** A snapshot as the history keeps it: its arrival time and the transmitted integers. */
export interface StoredSnapshot {
  readonly at: number;
  readonly fields: SnapshotFields;
}

export function bucketsPerChunk(res: RollupResolution): number {
  return CHUNK_MS[res] / BUCKET_MS[res];
}

export function emptyRawChunk(uid: string, start: number, length = 0): RawChunk {
  return {
    uid,
    start,
    t: new Uint16Array(length),
    p: new Int32Array(length),
    vrms: new Uint16Array(length),
    irms: new Uint16Array(length),
    n: new Uint32Array(length),
    pf: new Int16Array(length),
    f: new Uint16Array(length),
    thdV: new Uint16Array(length),
    thdI: new Uint16Array(length),
    flags: new Uint8Array(length),
  };
}

/** Appends snapshots (all inside the chunk's minute, in time order) to a chunk, as a new chunk. */
export function appendToRawChunk(chunk: RawChunk, snapshots: readonly StoredSnapshot[]): RawChunk {
  const old = chunk.t.length;
  const out = emptyRawChunk(chunk.uid, chunk.start, old + snapshots.length);
  out.t.set(chunk.t);
  out.p.set(chunk.p);
  out.vrms.set(chunk.vrms);
  out.irms.set(chunk.irms);
  out.n.set(chunk.n);
  out.pf.set(chunk.pf);
  out.f.set(chunk.f);
  out.thdV.set(chunk.thdV);
  out.thdI.set(chunk.thdI);
  out.flags.set(chunk.flags);
  snapshots.forEach((s, k) => {
    const offset = s.at - chunk.start;
    if (offset < 0 || offset >= CHUNK_MS.raw) throw new RangeError(`snapshot at ${s.at} is outside the chunk starting ${chunk.start}`);
    const j = old + k;
    const f = s.fields;
    out.t[j] = offset;
    out.p[j] = f.p;
    out.vrms[j] = f.vrms;
    out.irms[j] = f.irms;
    out.n[j] = f.n;
    out.pf[j] = f.pf;
    out.f[j] = f.f;
    out.thdV[j] = f.thdV;
    out.thdI[j] = f.thdI;
    out.flags[j] = f.flags;
  });
  return out;
}

/** A snapshot's values in physical units, as rollups and charts use them (undefined: not measured). */
export function physical(f: SnapshotFields): Record<RollupQuantity, number | undefined> {
  return {
    p: f.p / 1000,
    vrms: f.vrms / 100,
    irms: f.irms / 1000,
    f: f.f / 1000,
    thdV: f.thdV === THD_NOT_MEASURED ? undefined : f.thdV / 100,
    thdI: f.thdI === THD_NOT_MEASURED ? undefined : f.thdI / 100,
  };
}

/** The fields of the snapshot at index `k` of a raw chunk. */
export function rawFields(chunk: RawChunk, k: number): SnapshotFields {
  return {
    timeS: 0,
    timeCs: 0,
    p: chunk.p[k] ?? 0,
    vrms: chunk.vrms[k] ?? 0,
    irms: chunk.irms[k] ?? 0,
    n: chunk.n[k] ?? 0,
    pf: chunk.pf[k] ?? 0,
    f: chunk.f[k] ?? 0,
    thdV: chunk.thdV[k] ?? THD_NOT_MEASURED,
    thdI: chunk.thdI[k] ?? THD_NOT_MEASURED,
    flags: chunk.flags[k] ?? 0,
  };
}

function emptyStats(buckets: number): BucketStats {
  return { min: new Float32Array(buckets).fill(Infinity), max: new Float32Array(buckets).fill(-Infinity), sum: new Float32Array(buckets), n: new Uint32Array(buckets) };
}

export function emptyRollupChunk(uid: string, res: RollupResolution, start: number): RollupChunk {
  const buckets = bucketsPerChunk(res);
  const stats = Object.fromEntries(ROLLUP_QUANTITIES.map((q) => [q, emptyStats(buckets)])) as Record<RollupQuantity, BucketStats>;
  return { uid, res, start, flagged: new Uint32Array(buckets), sources: new Uint8Array(buckets), stats };
}

function bucketIndex(chunk: RollupChunk, at: number): number {
  const k = Math.floor((at - chunk.start) / BUCKET_MS[chunk.res]);
  if (k < 0 || k >= chunk.flagged.length) throw new RangeError(`time ${at} is outside the ${chunk.res} chunk starting ${chunk.start}`);
  return k;
}

function fold(stats: BucketStats, k: number, value: number, weight = 1): void {
  if (value < (stats.min[k] as number)) stats.min[k] = value;
  if (value > (stats.max[k] as number)) stats.max[k] = value;
  stats.sum[k] = (stats.sum[k] as number) + value * weight;
  stats.n[k] = (stats.n[k] as number) + weight;
}

/** Folds one snapshot into its bucket of a chunk (mutates the chunk, which the caller owns). */
export function foldSnapshot(chunk: RollupChunk, snapshot: StoredSnapshot): void {
  const k = bucketIndex(chunk, snapshot.at);
  const values = physical(snapshot.fields);
  for (const q of ROLLUP_QUANTITIES) {
    const v = values[q];
    if (v !== undefined) fold(chunk.stats[q], k, v);
  }
  if (snapshot.fields.flags & SnapshotFlag.WINDOW_FLAGGED) chunk.flagged[k] = (chunk.flagged[k] as number) + 1;
  chunk.sources[k] = (chunk.sources[k] as number) | RollupSource.SNAPSHOTS;
}

/**
 * Folds a meter's 10-minute aggregate into the buckets it overlaps (mutates the chunk). It counts
 * as many values as snapshots would have in that time (one a second), so means stay fair when a
 * bucket mixes both. Buckets shorter than 10 minutes get its mean, min and max as they are.
 */
export function foldAggregate(chunk: RollupChunk, aggregate: AggregateRow, lengthMs = 600_000): void {
  const bucketMs = BUCKET_MS[chunk.res];
  const from = Math.max(aggregate.start, chunk.start);
  const to = Math.min(aggregate.start + lengthMs, chunk.start + CHUNK_MS[chunk.res]);
  for (let t = Math.floor(from / bucketMs) * bucketMs; t < to; t += bucketMs) {
    const k = bucketIndex(chunk, t);
    const overlapMs = Math.min(to, t + bucketMs) - Math.max(from, t);
    if (overlapMs <= 0) continue;
    const weight = Math.max(1, Math.round(overlapMs / 1000));
    const pairs: [RollupQuantity, number | undefined, number | undefined, number | undefined][] = [
      ['p', aggregate.pMean, aggregate.pMin, aggregate.pMax],
      ['vrms', aggregate.vMean, aggregate.vMin, aggregate.vMax],
      ['f', aggregate.fMean, aggregate.fMean, aggregate.fMean],
      ['thdV', aggregate.thdV, aggregate.thdV, aggregate.thdV],
      ['thdI', aggregate.thdI, aggregate.thdI, aggregate.thdI],
    ];
    for (const [q, mean, min, max] of pairs) {
      if (mean === undefined || min === undefined || max === undefined) continue;
      const s = chunk.stats[q];
      if (min < (s.min[k] as number)) s.min[k] = min;
      if (max > (s.max[k] as number)) s.max[k] = max;
      s.sum[k] = (s.sum[k] as number) + mean * weight;
      s.n[k] = (s.n[k] as number) + weight;
    }
    if (aggregate.flagged) chunk.flagged[k] = (chunk.flagged[k] as number) + 1;
    chunk.sources[k] = (chunk.sources[k] as number) | RollupSource.METER_AGGREGATES;
  }
}

/** `into` with `from`'s buckets merged in (a new chunk; the inputs are not changed). */
export function mergeRollups(into: RollupChunk, from: RollupChunk): RollupChunk {
  if (into.uid !== from.uid || into.res !== from.res || into.start !== from.start) throw new RangeError('merging rollups of different chunks');
  const out = emptyRollupChunk(into.uid, into.res, into.start);
  for (let k = 0; k < out.flagged.length; k++) {
    out.flagged[k] = (into.flagged[k] as number) + (from.flagged[k] as number);
    out.sources[k] = (into.sources[k] as number) | (from.sources[k] as number);
  }
  for (const q of ROLLUP_QUANTITIES) {
    const a = into.stats[q];
    const b = from.stats[q];
    const o = out.stats[q];
    for (let k = 0; k < o.n.length; k++) {
      o.min[k] = Math.min(a.min[k] as number, b.min[k] as number);
      o.max[k] = Math.max(a.max[k] as number, b.max[k] as number);
      o.sum[k] = (a.sum[k] as number) + (b.sum[k] as number);
      o.n[k] = (a.n[k] as number) + (b.n[k] as number);
    }
  }
  return out;
}
