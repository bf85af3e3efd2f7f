/**
 * The history store measured where it runs: in Chromium, on its real IndexedDB. Bundled into one
 * script by bench/history.ts and driven through `window.__storeBench`.
 */
import { memoryLastFvStore, ReceiverFreshness, memoryCounterStore, SenderCounter } from '../../src/lib/meter/freshness';
import { canId, FunctionCode } from '../../src/lib/meter/ids';
import { deriveMeterKey, toHex } from '../../src/lib/meter/keys';
import { MeterLink } from '../../src/lib/meter/link';
import { encodeSnapshot, type SnapshotFields } from '../../src/lib/meter/records';
import { sealFrames } from '../../src/lib/meter/secure';
import type { CanFrame } from '../../src/lib/can/frame';
import { readSeries, resolutionFor } from '../../src/lib/store/queries';
import { DEFAULT_RETENTION } from '../../src/lib/store/retention';
import { CHUNK_MS, type EnergyDay, type Resolution, historyDbName, openHistory, type RawChunk, type RollupChunk } from '../../src/lib/store/schema';
import { appendToRawChunk, emptyRawChunk, emptyRollupChunk, foldSnapshot } from '../../src/lib/store/series';
import { HistoryWriter } from '../../src/lib/store/writer';

const DAY_MS = 86_400_000;
const SITE_KEY = new Uint8Array(32).fill(0x42);

function uidOf(node: number): Uint8Array {
  return Uint8Array.from([0x57, 0x57, 0x42, 0x4e, 0x43, 0x48, 0, 0, 0, 0, 0, node]);
}

function fields(t: number, node: number): SnapshotFields {
  const watts = 800 + 600 * Math.sin(t / 3.6e6 + node) + 50 * Math.sin(t / 7000);
  return { timeS: Math.floor(t / 1000), timeCs: 0, flags: 3, vrms: 23000 + Math.round(200 * Math.sin(t / 5e5)), irms: Math.round((watts / 230) * 1000), p: Math.round(watts * 1000), n: 50_000, pf: 9800, f: 50_000 + Math.round(20 * Math.sin(t / 9e5)), thdV: 240, thdI: 1210 };
}

/**
 * Verifies and stores `seconds` of 1 Hz snapshots from `meters` meters: the frames are sealed
 * beforehand; the timed part reassembles, checks MAC and freshness, decodes and stores them, with
 * a flush every 5 simulated seconds as the app does. Returns records per second of wall time.
 */
async function ingest(meters: number, seconds: number): Promise<{ records: number; ms: number; perSecond: number }> {
  const db = await openHistory(`bench-ingest-${Date.now()}`);
  const writer = new HistoryWriter(db);
  const freshness = await ReceiverFreshness.open(memoryLastFvStore());
  const counter = await SenderCounter.open(memoryCounterStore());
  const t0 = Date.UTC(2026, 11, 1);
  const links = Array.from({ length: meters }, (_, k) => new MeterLink({ siteKey: SITE_KEY, node: k + 1, uid: uidOf(k + 1), counter, freshness }));
  const keys = links.map((_, k) => deriveMeterKey(SITE_KEY, uidOf(k + 1)));
  const traffic: { node: number; at: number; frames: CanFrame[] }[] = [];
  for (let s = 0; s < seconds; s++) {
    for (let k = 0; k < meters; k++) {
      const at = t0 + s * 1000 + k;
      traffic.push({ node: k, at, frames: sealFrames(keys[k] as Uint8Array, canId(FunctionCode.SNAPSHOT, k + 1), encodeSnapshot(fields(at, k)), s + 1) });
    }
  }
  const uids = links.map((_, k) => toHex(uidOf(k + 1)));
  const started = performance.now();
  let records = 0;
  let nextFlush = t0 + 5000;
  for (const { node, at, frames } of traffic) {
    const link = links[node] as MeterLink;
    for (const frame of frames) {
      for (const event of link.receiveFrame(frame, at)) {
        if (event.kind === 'record' && event.record.function === FunctionCode.SNAPSHOT) {
          writer.addSnapshot(uids[node] as string, { at, fields: event.record.snapshot });
          records++;
        }
      }
    }
    if (at >= nextFlush) {
      const result = await writer.flush();
      if (!result.ok) throw new Error(result.error);
      nextFlush += 5000;
    }
  }
  await writer.flush();
  const ms = performance.now() - started;
  db.close();
  return { records, ms, perSecond: (records / ms) * 1000 };
}

/**
 * One meter's year in steady state, as the retention policy keeps it: full rate for the last
 * 3 days, 1-minute buckets for 31 days, 15-minute and daily buckets and the ledger for the year.
 * Written as the writer writes it (same chunk shapes), in bulk.
 */
async function fillYear(name: string): Promise<{ uid: string; end: number; rows: number }> {
  const db = await openHistory(name);
  const uid = toHex(uidOf(77));
  const end = Date.UTC(2026, 11, 1);
  const start = end - 365 * DAY_MS;
  let rows = 0;
  const put = async (values: (RawChunk | RollupChunk | EnergyDay)[], store: 'raw' | 'rollups' | 'energy') => {
    const tx = db.transaction(store, 'readwrite');
    for (const v of values) void tx.store.put(v as never);
    await tx.done;
    rows += values.length;
  };
  // Full rate: one chunk per minute.
  const rawFrom = end - DEFAULT_RETENTION.days.raw * DAY_MS;
  for (let day = rawFrom; day < end; day += DAY_MS) {
    const chunks: RawChunk[] = [];
    for (let m = day; m < day + DAY_MS; m += CHUNK_MS.raw) {
      const snaps = Array.from({ length: 60 }, (_, s) => ({ at: m + s * 1000, fields: fields(m + s * 1000, 7) }));
      chunks.push(appendToRawChunk(emptyRawChunk(uid, m), snaps));
    }
    await put(chunks, 'raw');
  }
  // Rollups: fold one value per minute of the year (the real ones fold 60; the shapes are equal).
  for (const [res, keepDays] of [['1m', DEFAULT_RETENTION.days['1m']], ['15m', 365], ['1d', 365]] as const) {
    const from = end - keepDays * DAY_MS;
    const chunks = new Map<number, RollupChunk>();
    for (let t = from; t < end; t += 60_000) {
      const c0 = Math.floor(t / CHUNK_MS[res]) * CHUNK_MS[res];
      let chunk = chunks.get(c0);
      if (!chunk) {
        chunk = emptyRollupChunk(uid, res, c0);
        chunks.set(c0, chunk);
      }
      foldSnapshot(chunk, { at: t, fields: fields(t, 7) });
    }
    const list = [...chunks.values()];
    for (let i = 0; i < list.length; i += 200) await put(list.slice(i, i + 200), 'rollups');
  }
  const days: EnergyDay[] = [];
  for (let day = start; day < end; day += DAY_MS) {
    const importMwh = new Float64Array(96).map((_, k) => 150_000 + 1000 * k);
    days.push({ uid, start: day, importMwh, exportMwh: new Float64Array(96), quality: new Uint8Array(96).fill(1) });
  }
  await put(days, 'energy');
  db.close();
  return { uid, end, rows };
}

/** Median wall time of five reads of a span for a chart, and the points it gave. */
async function load(name: string, uid: string, end: number, spanDays: number, res?: Resolution): Promise<{ ms: number; points: number; resolution: string }> {
  const db = await openHistory(name);
  const from = end - spanDays * DAY_MS;
  const times: number[] = [];
  let points = 0;
  let resolution = '';
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    const series = await readSeries(db, { uid, quantity: 'p', from, to: end, ...(res ? { resolution: res } : {}) });
    times.push(performance.now() - t);
    points = series.t.length;
    resolution = series.resolution;
  }
  db.close();
  times.sort((a, b) => a - b);
  return { ms: times[2] as number, points, resolution: res ? resolution : `${resolution} (chosen for the span: ${resolutionFor(spanDays * DAY_MS)})` };
}

async function usage(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? Number.NaN;
}

declare global {
  interface Window {
    __storeBench?: { ingest: typeof ingest; fillYear: typeof fillYear; load: typeof load; usage: typeof usage; dbName: typeof historyDbName };
  }
}

window.__storeBench = { ingest, fillYear, load, usage, dbName: historyDbName };
