/**
 * The history database of one site (IndexedDB through idb): the meter registry, snapshots at full
 * rate, min/mean/max rollups, the energy ledger, power-quality events, the meters' own 10-minute
 * aggregates and a log of what happened. docs/history.md describes the layout and its sizes.
 *
 * Time series are stored in chunks (a minute of snapshots, an hour of 1-minute buckets, a day of
 * 15-minute buckets, 32 days of daily buckets) with typed-array columns: a few thousand rows per
 * meter-year instead of millions, and a chart reads a year in a few hundred gets.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';

export const HISTORY_SCHEMA_VERSION = 1;

/** What a meter measures, as the rollups keep it (physical units). */
export const ROLLUP_QUANTITIES = ['p', 'vrms', 'irms', 'f', 'thdV', 'thdI'] as const;
export type RollupQuantity = (typeof ROLLUP_QUANTITIES)[number];

/** Everything a snapshot carries, as the raw chunks keep it. */
export const SNAPSHOT_QUANTITIES = ['p', 'vrms', 'irms', 'n', 'pf', 'f', 'thdV', 'thdI'] as const;
export type SnapshotQuantity = (typeof SNAPSHOT_QUANTITIES)[number];

export type MeterKind = 'load' | 'generator' | 'cogenerator' | 'storage';
export const METER_KINDS: readonly MeterKind[] = ['load', 'generator', 'cogenerator', 'storage'];

/** A meter of this site, as the user named and classified it. Keyed by its verified uid. */
export interface MeterInfo {
  /** 24 hex digits: the meter's 96-bit unique id, learned from a verified STATUS. */
  readonly uid: string;
  /** Node id it answers on (1..127); it may move. */
  readonly node: number;
  readonly name: string;
  readonly kind: MeterKind;
  /** 1 = most important: shed last. */
  readonly priority: number;
  /** This meter measures the site's grid connection point (import/export of the whole site). */
  readonly gridPoint: boolean;
  /** May be switched off in the middle of its cycle (an oven may, a washing machine may not). */
  readonly interruptible: boolean;
  readonly firmware: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export type Resolution = 'raw' | '1m' | '15m' | '1d';
export const RESOLUTIONS: readonly Resolution[] = ['raw', '1m', '15m', '1d'];

/** Length of one bucket of a rollup resolution, ms. */
export const BUCKET_MS: Readonly<Record<Exclude<Resolution, 'raw'>, number>> = { '1m': 60_000, '15m': 900_000, '1d': 86_400_000 };
/** Length of one chunk (one database row), ms. Chunks start at multiples of their length (UTC). */
export const CHUNK_MS: Readonly<Record<Resolution, number>> = { raw: 60_000, '1m': 3_600_000, '15m': 86_400_000, '1d': 32 * 86_400_000 };

/** One minute of snapshots of one meter, columns as the SNAPSHOT record transmits them. */
export interface RawChunk {
  readonly uid: string;
  /** Chunk start, ms UTC, a multiple of CHUNK_MS.raw. */
  readonly start: number;
  /** Arrival time, ms after `start`. */
  readonly t: Uint16Array;
  /** mW, positive import. */
  readonly p: Int32Array;
  /** 0.01 V. */
  readonly vrms: Uint16Array;
  /** mA. */
  readonly irms: Uint16Array;
  /** mvar. */
  readonly n: Uint32Array;
  /** 0.0001. */
  readonly pf: Int16Array;
  /** mHz. */
  readonly f: Uint16Array;
  /** 0.01 %, 0xFFFF = not measured. */
  readonly thdV: Uint16Array;
  readonly thdI: Uint16Array;
  /** SNAPSHOT flags. */
  readonly flags: Uint8Array;
}

/** min, max and sum per bucket, over `n` values (THD may be missing where other values are not). */
export interface BucketStats {
  readonly min: Float32Array;
  readonly max: Float32Array;
  readonly sum: Float32Array;
  readonly n: Uint32Array;
}

/** Bits of RollupChunk.sources. */
export const RollupSource = { SNAPSHOTS: 1, METER_AGGREGATES: 2 } as const;

/** A chunk of buckets of one rollup resolution for one meter. */
export interface RollupChunk {
  readonly uid: string;
  readonly res: Exclude<Resolution, 'raw'>;
  readonly start: number;
  /** Windows flagged (dip, swell or interruption inside) per bucket. */
  readonly flagged: Uint32Array;
  /** RollupSource bits per bucket. */
  readonly sources: Uint8Array;
  readonly stats: Readonly<Record<RollupQuantity, BucketStats>>;
}

/** Quality of a ledger slot: how its energy was placed in time. */
export const SlotQuality = {
  /** No energy recorded. */
  NONE: 0,
  /** Register differences a few seconds apart. */
  MEASURED: 1,
  /** A long difference placed with the meter's 10-minute aggregates. */
  FROM_AGGREGATES: 2,
  /** A long difference spread in proportion to time (no aggregates covered it). */
  SPREAD: 3,
} as const;
export type SlotQuality = (typeof SlotQuality)[keyof typeof SlotQuality];

/** The energy ledger: one UTC day (96 slots of 15 minutes) of one meter. */
export interface EnergyDay {
  readonly uid: string;
  readonly start: number;
  /** mWh per slot. */
  readonly importMwh: Float64Array;
  readonly exportMwh: Float64Array;
  /** The worst SlotQuality that contributed to each slot. */
  readonly quality: Uint8Array;
}

/** The last register reading counted for a meter, and the long differences not yet placed. */
export interface EnergyCursorRow {
  readonly uid: string;
  readonly at: number;
  readonly importMwh: number;
  readonly exportMwh: number;
  readonly epoch: number;
  readonly boots: number;
  /** Total counted since the meter joined: the ledger's sum, kept to check it. */
  readonly countedImportMwh: number;
  readonly countedExportMwh: number;
}

/** A long register difference (the app was closed): counted, waiting for aggregates to place it. */
export interface PendingGap {
  readonly uid: string;
  readonly from: number;
  readonly to: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** A dip, swell or interruption a meter recorded. */
export interface EventRow {
  readonly uid: string;
  readonly seq: number;
  readonly kind: 'dip' | 'swell' | 'interruption';
  /** ms UTC (meter clock). */
  readonly start: number;
  readonly durationMs: number;
  /** V: residual of a dip, peak of a swell. */
  readonly extremeV: number;
}

/** A meter's own 10-minute aggregate, as read after a gap (physical units). */
export interface AggregateRow {
  readonly uid: string;
  /** ms UTC, on the 10-minute boundary. */
  readonly start: number;
  readonly flagged: boolean;
  readonly pMean: number;
  readonly pMin: number;
  readonly pMax: number;
  readonly vMean: number;
  readonly vMin: number;
  readonly vMax: number;
  readonly fMean: number;
  readonly thdV: number | undefined;
  readonly thdI: number | undefined;
  readonly importMwh: number;
  readonly exportMwh: number;
}

export type LogLevel = 'info' | 'warning' | 'alarm';

/** What happened, for the user and for the next engineer: resets, gaps, rejections, storage. */
export interface LogEntry {
  readonly id?: number;
  readonly at: number;
  readonly level: LogLevel;
  readonly code: string;
  readonly uid?: string;
  readonly message: string;
}

export interface HistorySchema extends DBSchema {
  meters: { key: string; value: MeterInfo; indexes: { node: number } };
  raw: { key: [string, number]; value: RawChunk };
  rollups: { key: [string, string, number]; value: RollupChunk };
  energy: { key: [string, number]; value: EnergyDay };
  cursors: { key: string; value: EnergyCursorRow };
  gaps: { key: [string, number]; value: PendingGap };
  events: { key: [string, number]; value: EventRow; indexes: { start: number } };
  aggregates: { key: [string, number]; value: AggregateRow };
  log: { key: number; value: LogEntry; indexes: { at: number } };
  settings: { key: string; value: unknown };
}

export type HistoryDb = IDBPDatabase<HistorySchema>;
export type StoreName = 'meters' | 'raw' | 'rollups' | 'energy' | 'cursors' | 'gaps' | 'events' | 'aggregates' | 'log' | 'settings';
export const STORE_NAMES: readonly StoreName[] = ['meters', 'raw', 'rollups', 'energy', 'cursors', 'gaps', 'events', 'aggregates', 'log', 'settings'];

export interface OpenHistoryOptions {
  /** IndexedDB to use: the browser's by default, fake-indexeddb's in Node tests. */
  readonly indexedDB?: IDBFactory;
}

/** Opens (creating or upgrading) the history database called `name`. */
export async function openHistory(name: string, options: OpenHistoryOptions = {}): Promise<HistoryDb> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (!factory) throw new Error('this browser has no IndexedDB: history cannot be stored');
  // idb reads the global; hand it the factory we were given for the duration of the open.
  return withFactory(factory, () =>
    openDB<HistorySchema>(name, HISTORY_SCHEMA_VERSION, {
      upgrade(db) {
        const meters = db.createObjectStore('meters', { keyPath: 'uid' });
        meters.createIndex('node', 'node');
        db.createObjectStore('raw', { keyPath: ['uid', 'start'] });
        db.createObjectStore('rollups', { keyPath: ['uid', 'res', 'start'] });
        db.createObjectStore('energy', { keyPath: ['uid', 'start'] });
        db.createObjectStore('cursors', { keyPath: 'uid' });
        db.createObjectStore('gaps', { keyPath: ['uid', 'from'] });
        const events = db.createObjectStore('events', { keyPath: ['uid', 'seq'] });
        events.createIndex('start', 'start');
        db.createObjectStore('aggregates', { keyPath: ['uid', 'start'] });
        const log = db.createObjectStore('log', { keyPath: 'id', autoIncrement: true });
        log.createIndex('at', 'at');
        db.createObjectStore('settings');
      },
      blocking() {
        // Another tab wants a newer schema: let it have the database.
      },
    }),
  );
}

async function withFactory<T>(factory: IDBFactory, open: () => Promise<T>): Promise<T> {
  const global = globalThis as { indexedDB?: IDBFactory };
  if (global.indexedDB === factory) return open();
  const previous = global.indexedDB;
  global.indexedDB = factory;
  try {
    return await open();
  } finally {
    if (previous === undefined) delete global.indexedDB;
    else global.indexedDB = previous;
  }
}

/** Name of a site's history database: sites (and the demo) never share one. */
export function historyDbName(siteFingerprint: string): string {
  return `wattwall-history-${siteFingerprint}`;
}

/** Start of the chunk of `res` that contains `ms`. */
export function chunkStart(res: Resolution, ms: number): number {
  const size = CHUNK_MS[res];
  return Math.floor(ms / size) * size;
}
