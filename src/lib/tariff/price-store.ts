/**
 * The price cache: spot prices per source in their own IndexedDB database ("wattwall-prices"),
 * so the bill and the plans work offline and after a restart. Only slots on the grid are written;
 * a write either stores all its slots or none (one transaction).
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { PriceErrorKind } from './errors';
import { type PriceSlot, SLOT_MS } from './slot';

export const PRICE_DB_NAME = 'wattwall-prices';
const VERSION = 1;

/** What the service remembers about a source across restarts. */
export interface SourceMeta {
  readonly source: string;
  readonly lastSuccessAt?: number;
  readonly lastError?: { readonly kind: PriceErrorKind; readonly message: string; readonly at: number };
}

interface StoredSlot {
  readonly source: string;
  readonly start: number;
  readonly price: number;
  readonly fetchedAt: number;
}

interface PriceDb extends DBSchema {
  slots: { key: [string, number]; value: StoredSlot };
  meta: { key: string; value: SourceMeta };
}

export interface PriceStore {
  /** Stores `slots` of `source`, replacing any it had for the same slots. */
  put(source: string, slots: readonly PriceSlot[], fetchedAt: number): Promise<void>;
  /** The cached slots of `source` in `[from, to)`, in order. */
  get(source: string, from: number, to: number): Promise<PriceSlot[]>;
  getMeta(source: string): Promise<SourceMeta | undefined>;
  putMeta(meta: SourceMeta): Promise<void>;
  /** Forgets slots of `source` that start before `before`; returns how many. */
  prune(source: string, before: number): Promise<number>;
  close(): void;
}

/** A write or read of the cache failed (storage full, blocked, unavailable). */
export class PriceStoreError extends Error {
  override readonly name = 'PriceStoreError';
}

function storeError(what: string, error: unknown): PriceStoreError {
  const name = error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException) ? (error as Error).name : '';
  const reason = name === 'QuotaExceededError' ? 'the browser storage is full' : error instanceof Error ? error.message : String(error);
  return new PriceStoreError(`The price cache could not ${what}: ${reason}. Prices fetched now are used until the page closes.`);
}

function checkSlot(slot: PriceSlot): void {
  if (!Number.isSafeInteger(slot.start) || slot.start % SLOT_MS !== 0 || slot.end !== slot.start + SLOT_MS || !Number.isFinite(slot.price)) {
    throw new RangeError(`not a price slot on the grid: ${JSON.stringify(slot)}`);
  }
}

class IdbPriceStore implements PriceStore {
  constructor(private readonly db: IDBPDatabase<PriceDb>) {}

  async put(source: string, slots: readonly PriceSlot[], fetchedAt: number): Promise<void> {
    slots.forEach(checkSlot);
    if (slots.length === 0) return;
    try {
      const tx = this.db.transaction('slots', 'readwrite');
      for (const s of slots) void tx.store.put({ source, start: s.start, price: s.price, fetchedAt });
      await tx.done;
    } catch (error) {
      throw storeError('store the prices', error);
    }
  }

  async get(source: string, from: number, to: number): Promise<PriceSlot[]> {
    if (!(from < to)) return [];
    try {
      const rows = await this.db.getAll('slots', IDBKeyRange.bound([source, from], [source, to], false, true));
      return rows.map((r) => ({ start: r.start, end: r.start + SLOT_MS, price: r.price }));
    } catch (error) {
      throw storeError('read the prices', error);
    }
  }

  async getMeta(source: string): Promise<SourceMeta | undefined> {
    try {
      return await this.db.get('meta', source);
    } catch (error) {
      throw storeError('read its state', error);
    }
  }

  async putMeta(meta: SourceMeta): Promise<void> {
    try {
      await this.db.put('meta', meta);
    } catch (error) {
      throw storeError('save its state', error);
    }
  }

  async prune(source: string, before: number): Promise<number> {
    try {
      const tx = this.db.transaction('slots', 'readwrite');
      const range = IDBKeyRange.bound([source, -Infinity], [source, before], false, true);
      const count = await tx.store.count(range);
      await tx.store.delete(range);
      await tx.done;
      return count;
    } catch (error) {
      throw storeError('forget old prices', error);
    }
  }

  close(): void {
    this.db.close();
  }
}

/** Opens (creating on first use) the price database. */
export async function openPriceStore(name = PRICE_DB_NAME): Promise<PriceStore> {
  try {
    const db = await openDB<PriceDb>(name, VERSION, {
      upgrade(database) {
        database.createObjectStore('slots', { keyPath: ['source', 'start'] });
        database.createObjectStore('meta', { keyPath: 'source' });
      },
    });
    return new IdbPriceStore(db);
  } catch (error) {
    throw storeError('be opened', error);
  }
}

/**
 * A cache that lives as long as the page: what the app uses when the browser will not open the
 * price database (private mode, storage blocked), so fetched prices still price the session.
 */
export function memoryPriceStore(): PriceStore {
  const slots = new Map<string, Map<number, number>>();
  const meta = new Map<string, SourceMeta>();
  return {
    async put(source, list) {
      list.forEach(checkSlot);
      let bySource = slots.get(source);
      if (!bySource) slots.set(source, (bySource = new Map()));
      for (const s of list) bySource.set(s.start, s.price);
    },
    async get(source, from, to) {
      const bySource = slots.get(source);
      if (!bySource || !(from < to)) return [];
      return [...bySource.entries()].filter(([start]) => start >= from && start < to).sort((a, b) => a[0] - b[0]).map(([start, price]) => ({ start, end: start + SLOT_MS, price }));
    },
    async getMeta(source) {
      return meta.get(source);
    },
    async putMeta(m) {
      meta.set(m.source, m);
    },
    async prune(source, before) {
      const bySource = slots.get(source);
      let count = 0;
      for (const start of [...(bySource?.keys() ?? [])]) if (start < before) count += bySource?.delete(start) ? 1 : 0;
      return count;
    },
    close() {},
  };
}
