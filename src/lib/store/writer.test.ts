import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { SnapshotFields } from '../meter/records';
import { SLOT_MS } from '../tariff/slot';
import { ledgerTotal, readEvents, readSeries, readSlotEnergy } from './queries';
import { DEFAULT_RETENTION, prune } from './retention';
import { type AggregateRow, type EnergyCursorRow, type HistoryDb, openHistory, SlotQuality } from './schema';
import { HistoryWriter } from './writer';

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);
const UID = 'aabbccddeeff001122334455';
let n = 0;
const freshDb = () => openHistory(`writer-test-${++n}`);

function fields(watts: number, volts = 230, flags = 1): SnapshotFields {
  return { timeS: 0, timeCs: 0, flags, vrms: Math.round(volts * 100), irms: Math.round((watts / volts) * 1000), p: Math.round(watts * 1000), n: 0, pf: 10000, f: 50_000, thdV: 210, thdI: 0xffff };
}

const cursor = (at: number, importMwh: number): EnergyCursorRow => ({ uid: UID, at, importMwh, exportMwh: 0, epoch: 0, boots: 1, countedImportMwh: importMwh, countedExportMwh: 0 });

/** A database whose first `failures` write transactions are refused as a full disk would. */
function fullDisk(db: HistoryDb, failures: number): HistoryDb {
  let left = failures;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return (stores: never, mode?: IDBTransactionMode) => {
          if (mode === 'readwrite' && left > 0) {
            left--;
            throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          }
          return target.transaction(stores, mode);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('HistoryWriter', () => {
  it('appends snapshots to minute chunks across flushes, and rollups merge to what one pass would give', async () => {
    const db = await freshDb();
    const writer = new HistoryWriter(db);
    // 90 s at 1 Hz in three flushes, power ramping 0..89 W.
    for (let s = 0; s < 90; s++) {
      writer.addSnapshot(UID, { at: T0 + s * 1000 + 7, fields: fields(s, 230 + (s % 3)) });
      if (s % 30 === 29) expect((await writer.flush()).ok).toBe(true);
    }
    const raw = await readSeries(db, { uid: UID, quantity: 'p', from: T0, to: T0 + 90_000, resolution: 'raw' });
    expect(Array.from(raw.mean)).toEqual(Array.from({ length: 90 }, (_, s) => s));
    expect(raw.t[1]).toBe(T0 + 1007);
    const minutes = await readSeries(db, { uid: UID, quantity: 'p', from: T0, to: T0 + 120_000, resolution: '1m' });
    expect(Array.from(minutes.t)).toEqual([T0, T0 + 60_000]);
    expect(Array.from(minutes.min)).toEqual([0, 60]);
    expect(Array.from(minutes.max)).toEqual([59, 89]);
    expect(minutes.mean[0]).toBeCloseTo(29.5, 4);
    expect(minutes.mean[1]).toBeCloseTo(74.5, 4);
    const volts = await readSeries(db, { uid: UID, quantity: 'vrms', from: T0, to: T0 + 120_000, resolution: '15m' });
    expect(volts.min[0]).toBe(230);
    expect(volts.max[0]).toBe(232);
    // THD of current was never measured: no points rather than zeros.
    expect((await readSeries(db, { uid: UID, quantity: 'thdI', from: T0, to: T0 + 120_000, resolution: '1m' })).t.length).toBe(0);
  });

  it('adds ledger shares into day rows and moves the cursor in the same transaction', async () => {
    const db = await freshDb();
    const writer = new HistoryWriter(db);
    writer.addEnergy(UID, [{ start: T0, importMwh: 400, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0 + 10_000, 400));
    await writer.flush();
    writer.addEnergy(UID, [{ start: T0, importMwh: 100, exportMwh: 0 }, { start: T0 + SLOT_MS, importMwh: 50, exportMwh: 3 }], SlotQuality.SPREAD, cursor(T0 + SLOT_MS + 1_000, 550));
    await writer.flush();
    expect(await readSlotEnergy(db, [UID], T0, T0 + 2 * SLOT_MS)).toEqual([
      { meterId: UID, start: T0, importMwh: 500, exportMwh: 0 },
      { meterId: UID, start: T0 + SLOT_MS, importMwh: 50, exportMwh: 3 },
    ]);
    expect(await db.get('cursors', UID)).toMatchObject({ at: T0 + SLOT_MS + 1_000, importMwh: 550 });
    const day = (await db.getAll('energy'))[0];
    expect(day?.quality[32]).toBe(SlotQuality.SPREAD);
  });

  it('keeps a batch the disk refused and writes it, in order, once there is room again', async () => {
    const real = await freshDb();
    const writer = new HistoryWriter(fullDisk(real, 2));
    writer.addSnapshot(UID, { at: T0, fields: fields(100) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 10, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0, 10));
    const refused = await writer.flush();
    expect(refused).toMatchObject({ ok: false, quotaExceeded: true });
    writer.addSnapshot(UID, { at: T0 + 1000, fields: fields(200) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 5, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0 + 1000, 15));
    expect((await writer.flush()).ok).toBe(false);
    expect(await real.count('raw')).toBe(0);
    expect((await writer.flush()).ok).toBe(true);
    const raw = await readSeries(real, { uid: UID, quantity: 'p', from: T0, to: T0 + 60_000, resolution: 'raw' });
    expect(Array.from(raw.mean)).toEqual([100, 200]);
    expect(await ledgerTotal(real, UID)).toEqual({ importMwh: 15, exportMwh: 0 });
    expect(await real.get('cursors', UID)).toMatchObject({ importMwh: 15 });
  });

  it('with no room for the whole batch, writes the ledger alone and the rest once there is room, counting nothing twice', async () => {
    const real = await freshDb();
    // Room for a few small rows, none for the snapshots and their rollups.
    let full = true;
    const tight = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'transaction') {
          return (stores: string | string[], mode?: IDBTransactionMode) => {
            if (full && mode === 'readwrite' && [stores].flat().includes('raw')) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            return target.transaction(stores as never, mode);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const writer = new HistoryWriter(tight);
    writer.addSnapshot(UID, { at: T0, fields: fields(100) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 10, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0, 10));
    expect(await writer.flush()).toMatchObject({ ok: false, quotaExceeded: true });
    expect(await writer.flushEssentials()).toMatchObject({ ok: true });
    expect(await ledgerTotal(real, UID)).toEqual({ importMwh: 10, exportMwh: 0 });
    expect(await real.count('raw')).toBe(0);
    writer.addSnapshot(UID, { at: T0 + 1000, fields: fields(200) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 5, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0 + 1000, 15));
    expect((await writer.flush()).ok).toBe(false);
    full = false;
    expect((await writer.flush()).ok).toBe(true);
    expect(writer.pending).toBe(0);
    const raw = await readSeries(real, { uid: UID, quantity: 'p', from: T0, to: T0 + 60_000, resolution: 'raw' });
    expect(Array.from(raw.mean)).toEqual([100, 200]);
    expect(await ledgerTotal(real, UID)).toEqual({ importMwh: 15, exportMwh: 0 });
    expect(await real.get('cursors', UID)).toMatchObject({ importMwh: 15 });
  });

  it('drops the oldest snapshots, never their rollups or the ledger, when the backlog outgrows its limit', async () => {
    const real = await freshDb();
    const writer = new HistoryWriter(fullDisk(real, 1), { maxBufferedSnapshots: 100 });
    for (let s = 0; s < 150; s++) writer.addSnapshot(UID, { at: T0 + s * 1000, fields: fields(10) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 417, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0, 417));
    expect(writer.droppedSnapshots).toBeGreaterThan(0);
    await writer.flush();
    expect((await writer.flush()).ok).toBe(true);
    const minutes = await readSeries(real, { uid: UID, quantity: 'p', from: T0, to: T0 + 180_000, resolution: '1m' });
    expect(minutes.t.length).toBe(3);
    const raw = await readSeries(real, { uid: UID, quantity: 'p', from: T0, to: T0 + 180_000, resolution: 'raw' });
    // The dropped first minute shows as its 1-minute bucket, then the snapshots kept follow.
    expect(writer.droppedSnapshots).toBe(60);
    expect(raw.t.length).toBe(1 + 90);
    expect(raw.t[0]).toBe(T0);
    expect(raw.t[1]).toBe(T0 + 60_000);
    expect(await ledgerTotal(real, UID)).toEqual({ importMwh: 417, exportMwh: 0 });
  });

  it('folds a meter aggregate only into buckets without snapshots, and only once', async () => {
    const db = await freshDb();
    const writer = new HistoryWriter(db);
    // Snapshots in the first minute of 08:00-08:10; the aggregate covers the whole ten minutes.
    for (let s = 0; s < 60; s++) writer.addSnapshot(UID, { at: T0 + s * 1000, fields: fields(100) });
    const aggregate: AggregateRow = { uid: UID, start: T0, flagged: false, pMean: 700, pMin: 650, pMax: 750, vMean: 231, vMin: 229, vMax: 233, fMean: 50, thdV: 2, thdI: undefined, importMwh: 116_667, exportMwh: 0 };
    writer.addAggregate(aggregate);
    await writer.flush();
    writer.addAggregate(aggregate); // read again by an overlapping backfill
    await writer.flush();
    const minutes = await readSeries(db, { uid: UID, quantity: 'p', from: T0, to: T0 + 600_000, resolution: '1m' });
    expect(Array.from(minutes.mean)).toEqual([100, 700, 700, 700, 700, 700, 700, 700, 700, 700]);
    const quarter = await readSeries(db, { uid: UID, quantity: 'p', from: T0, to: T0 + 900_000, resolution: '15m' });
    // 60 snapshots of 100 W plus... nothing: the 15-minute bucket has snapshots, so the aggregate stays out.
    expect(Array.from(quarter.mean)).toEqual([100]);
    expect(await db.count('aggregates')).toBe(1);
  });

  it('stores events once per sequence number', async () => {
    const db = await freshDb();
    const writer = new HistoryWriter(db);
    const dip = { uid: UID, seq: 7, kind: 'dip' as const, start: T0 + 1234, durationMs: 80, extremeV: 180.5 };
    writer.addEvent(dip);
    writer.addEvent(dip);
    await writer.flush();
    expect(await readEvents(db, T0, T0 + 10_000)).toEqual([dip]);
  });
});

describe('retention', () => {
  it('drops rows older than the policy keeps, and the oldest full-rate days while over budget', async () => {
    const db = await freshDb();
    const writer = new HistoryWriter(db);
    const day = 86_400_000;
    const now = T0 + 10 * day;
    for (let d = 0; d < 10; d++) for (let s = 0; s < 30; s++) writer.addSnapshot(UID, { at: T0 + d * day + s * 1000, fields: fields(50) });
    writer.addEnergy(UID, [{ start: T0, importMwh: 1, exportMwh: 0 }], SlotQuality.MEASURED, cursor(T0, 1));
    await writer.flush();
    const byPolicy = await prune(db, DEFAULT_RETENTION, now);
    // Raw is kept 3 days: the rows of days 0..6 go.
    expect(byPolicy.deleted.raw).toBe(7);
    expect(await db.count('raw')).toBe(3);
    const tight = await prune(db, { ...DEFAULT_RETENTION, budgetBytes: 1 }, now);
    // Over budget: full rate down to the last day, then 1-minute buckets, never the ledger or days.
    expect(await db.count('raw')).toBe(1);
    expect(tight.deleted['1m']).toBeGreaterThan(0);
    expect(await ledgerTotal(db, UID)).toEqual({ importMwh: 1, exportMwh: 0 });
    expect((await readSeries(db, { uid: UID, quantity: 'p', from: T0, to: now, resolution: '1d' })).t.length).toBe(10);
  });
});
