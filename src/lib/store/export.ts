/**
 * CSV export of any range: power and quality (full rate or rollups), the energy ledger per slot,
 * and events. RFC 4180 text with a header line; times in ISO 8601 UTC; numbers with a dot.
 */
import { THD_NOT_MEASURED } from '../meter/records';
import { SLOT_MS } from '../tariff/slot';
import { readEvents, readRawChunks, readSlotEnergy } from './queries';
import { BUCKET_MS, CHUNK_MS, type EnergyDay, type HistoryDb, type MeterInfo, ROLLUP_QUANTITIES, type Resolution, type RollupChunk } from './schema';

export type CsvKind = 'power' | 'energy' | 'events';

export interface CsvOptions {
  readonly kind: CsvKind;
  /** The meters to export (all of the registry, or one). */
  readonly meters: readonly MeterInfo[];
  readonly from: number;
  readonly to: number;
  /** For `power`: full rate or a rollup resolution. */
  readonly resolution?: Resolution;
}

/** A field as RFC 4180 wants it: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (fields: readonly (string | number | undefined)[]) => `${fields.map(csvField).join(',')}\r\n`;
const iso = (ms: number) => new Date(ms).toISOString();
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The CSV text, line by line, so a year of full-rate data never sits in memory as one string. */
export async function* csvLines(db: HistoryDb, options: CsvOptions): AsyncGenerator<string> {
  if (options.to <= options.from) throw new RangeError('the export range is empty');
  switch (options.kind) {
    case 'energy':
      yield* energyLines(db, options);
      return;
    case 'events':
      yield* eventLines(db, options);
      return;
    case 'power':
      if ((options.resolution ?? 'raw') === 'raw') yield* rawLines(db, options);
      else yield* rollupLines(db, options, options.resolution as Exclude<Resolution, 'raw'>);
      return;
  }
}

async function* rawLines(db: HistoryDb, o: CsvOptions): AsyncGenerator<string> {
  yield line(['time', 'meter', 'uid', 'p_w', 'vrms_v', 'irms_a', 'n_var', 'pf', 'f_hz', 'thd_v_pct', 'thd_i_pct', 'relay_on', 'flagged']);
  for (const meter of o.meters) {
    // A day of chunks at a time.
    for (let day = Math.floor(o.from / 86_400_000) * 86_400_000; day < o.to; day += 86_400_000) {
      for (const c of await readRawChunks(db, meter.uid, Math.max(o.from, day), Math.min(o.to, day + 86_400_000))) {
        for (let k = 0; k < c.t.length; k++) {
          const t = c.start + (c.t[k] as number);
          if (t < o.from || t >= o.to) continue;
          const thdV = c.thdV[k] as number;
          const thdI = c.thdI[k] as number;
          const flags = c.flags[k] as number;
          yield line([
            iso(t),
            meter.name,
            meter.uid,
            round((c.p[k] as number) / 1000, 3),
            round((c.vrms[k] as number) / 100, 2),
            round((c.irms[k] as number) / 1000, 3),
            round((c.n[k] as number) / 1000, 3),
            round((c.pf[k] as number) / 10000, 4),
            round((c.f[k] as number) / 1000, 3),
            thdV === THD_NOT_MEASURED ? undefined : round(thdV / 100, 2),
            thdI === THD_NOT_MEASURED ? undefined : round(thdI / 100, 2),
            flags & 1 ? 1 : 0,
            flags & 4 ? 1 : 0,
          ]);
        }
      }
    }
  }
}

async function* rollupLines(db: HistoryDb, o: CsvOptions, res: Exclude<Resolution, 'raw'>): AsyncGenerator<string> {
  const units: Record<(typeof ROLLUP_QUANTITIES)[number], string> = { p: 'p_w', vrms: 'vrms_v', irms: 'irms_a', f: 'f_hz', thdV: 'thd_v_pct', thdI: 'thd_i_pct' };
  yield line(['time', 'meter', 'uid', 'resolution', ...ROLLUP_QUANTITIES.flatMap((q) => [`${units[q]}_min`, `${units[q]}_mean`, `${units[q]}_max`]), 'flagged_windows', 'source']);
  const bucketMs = BUCKET_MS[res];
  for (const meter of o.meters) {
    const from = Math.floor(o.from / CHUNK_MS[res]) * CHUNK_MS[res];
    const chunks: RollupChunk[] = await db.getAll('rollups', IDBKeyRange.bound([meter.uid, res, from], [meter.uid, res, o.to], false, true));
    for (const c of chunks) {
      for (let k = 0; k < c.flagged.length; k++) {
        const t = c.start + k * bucketMs;
        if (t < o.from || t >= o.to || (c.sources[k] as number) === 0) continue;
        const values = ROLLUP_QUANTITIES.flatMap((q) => {
          const s = c.stats[q];
          const n = s.n[k] as number;
          return n === 0 ? [undefined, undefined, undefined] : [round(s.min[k] as number, 4), round((s.sum[k] as number) / n, 4), round(s.max[k] as number, 4)];
        });
        const source = (c.sources[k] as number) === 2 ? 'meter' : (c.sources[k] as number) === 3 ? 'both' : 'app';
        yield line([iso(t), meter.name, meter.uid, res, ...values, c.flagged[k], source]);
      }
    }
  }
}

const QUALITY_NAMES = ['none', 'measured', 'from-aggregates', 'spread'];

async function* energyLines(db: HistoryDb, o: CsvOptions): AsyncGenerator<string> {
  yield line(['slot_start', 'slot_end', 'meter', 'uid', 'import_wh', 'export_wh', 'quality']);
  for (const meter of o.meters) {
    const days: EnergyDay[] = await db.getAll('energy', IDBKeyRange.bound([meter.uid, Math.floor(o.from / 86_400_000) * 86_400_000], [meter.uid, o.to], false, true));
    const quality = new Map<number, number>();
    for (const d of days) d.quality.forEach((q, k) => quality.set(d.start + k * SLOT_MS, q));
    for (const slot of await readSlotEnergy(db, [meter.uid], o.from, o.to)) {
      yield line([iso(slot.start), iso(slot.start + SLOT_MS), meter.name, meter.uid, slot.importMwh / 1000, slot.exportMwh / 1000, QUALITY_NAMES[quality.get(slot.start) ?? 0]]);
    }
  }
}

async function* eventLines(db: HistoryDb, o: CsvOptions): AsyncGenerator<string> {
  yield line(['start', 'meter', 'uid', 'kind', 'duration_ms', 'extreme_v', 'seq']);
  const names = new Map(o.meters.map((m) => [m.uid, m.name]));
  for (const e of await readEvents(db, o.from, o.to)) {
    const name = names.get(e.uid);
    if (name === undefined) continue;
    yield line([iso(e.start), name, e.uid, e.kind, e.durationMs, round(e.extremeV, 2), e.seq]);
  }
}

/** All of it as one string (for small ranges and tests). */
export async function csvText(db: HistoryDb, options: CsvOptions): Promise<string> {
  let text = '';
  for await (const l of csvLines(db, options)) text += l;
  return text;
}
