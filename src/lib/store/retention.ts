/**
 * What the history keeps, and for how long: full-rate snapshots for a few days, 1-minute buckets
 * for a month, 15-minute buckets for years, days and the energy ledger for ever; and a size budget
 * that a tablet can afford, enforced by dropping the oldest of the finest data first.
 */
import { CHUNK_MS, type HistoryDb, type Resolution } from './schema';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** Days of each resolution to keep; `Infinity` keeps everything. */
  readonly days: Readonly<Record<Resolution, number>>;
  /** Upper bound of the store's size, bytes. */
  readonly budgetBytes: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  days: { raw: 3, '1m': 31, '15m': 5 * 366, '1d': Infinity },
  budgetBytes: 512 * 1024 * 1024,
};

/** Days always kept at every resolution, however tight the budget: the screens of today need them. */
const MIN_RAW_DAYS = 1;

export interface PruneResult {
  /** Rows deleted per resolution. */
  readonly deleted: Readonly<Record<Resolution, number>>;
  /** The size estimate after pruning, bytes. */
  readonly bytes: number;
}

/** Bytes of one row as stored, roughly (structured clone of its typed arrays plus overhead). */
export function rowBytes(value: unknown): number {
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength + 16;
  if (typeof value === 'string') return value.length * 2 + 8;
  if (typeof value === 'number' || typeof value === 'boolean') return 9;
  if (Array.isArray(value)) return value.reduce((n: number, v: unknown) => n + rowBytes(v), 16);
  if (value && typeof value === 'object') {
    let n = 32;
    for (const [k, v] of Object.entries(value)) n += k.length * 2 + rowBytes(v);
    return n;
  }
  return 8;
}

/** The store's size: what the browser reports for the origin when it can, else an estimate. */
export async function storeBytes(db: HistoryDb, estimate?: () => Promise<number | undefined>): Promise<number> {
  const reported = await estimate?.();
  if (reported !== undefined) return reported;
  let bytes = 0;
  for (const name of ['raw', 'rollups', 'energy', 'aggregates', 'events', 'log'] as const) {
    let cursor = await db.transaction(name).store.openCursor();
    while (cursor) {
      bytes += rowBytes(cursor.value);
      cursor = await cursor.continue();
    }
  }
  return bytes;
}

/** The browser's own figure for this origin's storage, where it has one. */
export function browserEstimate(): (() => Promise<number | undefined>) | undefined {
  const storage = globalThis.navigator?.storage;
  if (!storage?.estimate) return undefined;
  return async () => (await storage.estimate()).usage;
}

/** The chunk start and resolution of a raw ([uid, start]) or rollup ([uid, res, start]) key. */
function keyParts(key: IDBValidKey): { res: string; start: number } {
  const parts = key as [string, number] | [string, string, number];
  return parts.length === 2 ? { res: 'raw', start: parts[1] } : { res: parts[1], start: parts[2] };
}

async function deleteBefore(db: HistoryDb, res: Resolution, before: number): Promise<number> {
  const tx = db.transaction(res === 'raw' ? 'raw' : 'rollups', 'readwrite');
  const doomed: IDBValidKey[] = [];
  // Keys only: the chunks themselves are never read to be deleted.
  let cursor = await tx.store.openKeyCursor();
  while (cursor) {
    const { res: rowRes, start } = keyParts(cursor.key);
    if (rowRes === res && start + CHUNK_MS[res] <= before) doomed.push(cursor.key);
    cursor = await cursor.continue();
  }
  await Promise.all(doomed.map((key) => tx.store.delete(key as never)));
  await tx.done;
  return doomed.length;
}

async function oldestStart(db: HistoryDb, res: Resolution): Promise<number | undefined> {
  let oldest: number | undefined;
  let cursor = await db.transaction(res === 'raw' ? 'raw' : 'rollups').store.openKeyCursor();
  while (cursor) {
    const { res: rowRes, start } = keyParts(cursor.key);
    if (rowRes === res && (oldest === undefined || start < oldest)) oldest = start;
    cursor = await cursor.continue();
  }
  return oldest;
}

/**
 * Deletes what the policy no longer keeps, then, while the store is over its budget, a day at a
 * time of the finest data left (full rate first, then 1-minute, then 15-minute buckets). Days and
 * the energy ledger are never pruned: they are small and they are the bill.
 */
export async function prune(db: HistoryDb, policy: RetentionPolicy, now: number, estimate?: () => Promise<number | undefined>): Promise<PruneResult> {
  const deleted: Record<Resolution, number> = { raw: 0, '1m': 0, '15m': 0, '1d': 0 };
  for (const res of ['raw', '1m', '15m', '1d'] as const) {
    const days = policy.days[res];
    if (Number.isFinite(days)) deleted[res] += await deleteBefore(db, res, now - days * DAY_MS);
  }
  let bytes = await storeBytes(db, estimate);
  for (const res of ['raw', '1m', '15m'] as const) {
    const floor = now - MIN_RAW_DAYS * DAY_MS;
    while (bytes > policy.budgetBytes) {
      const oldest = await oldestStart(db, res);
      if (oldest === undefined || oldest >= floor) break;
      const cut = Math.min(floor, Math.floor(oldest / DAY_MS) * DAY_MS + DAY_MS);
      const n = await deleteBefore(db, res, cut);
      deleted[res] += n;
      bytes = await storeBytes(db, estimate);
      if (n === 0) break;
    }
  }
  return { deleted, bytes };
}
