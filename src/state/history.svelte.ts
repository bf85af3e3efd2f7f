/**
 * What the screens know of the stored history: whether writes keep up, today's energy per meter,
 * the recent log; and the user's export, backup and restore. Thin: the work is in src/lib/store
 * and src/lib/aggregator/historian.ts.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { Historian } from '../lib/aggregator/historian';
import type { SiteSecrets } from '../lib/store/backup';
import type { CsvKind } from '../lib/store/export';
import { readSeries, readSlotEnergy, type Series, type SeriesQuery } from '../lib/store/queries';
import type { LogEntry, MeterInfo, Resolution } from '../lib/store/schema';

export interface TodayEnergy {
  readonly importWh: number;
  readonly exportWh: number;
}

export interface ExportRequest {
  readonly kind: CsvKind;
  /** Empty: every meter. */
  readonly uids: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly resolution?: Resolution;
}

const LOG_LENGTH = 50;

/** Local midnight of the day containing `ms`. */
export function startOfLocalDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Where the charts' series come from: this site's database, or a remote site asked over the broker. */
export type SeriesReader = (query: SeriesQuery) => Promise<Series>;

export class HistoryState {
  readonly historian: Historian;
  /** The charts' series. A remote viewer's replica holds energy and events, not the full-rate readings: it asks the site. */
  readonly readSeries: SeriesReader;
  readonly site: string;
  readonly todayEnergy = new SvelteMap<string, TodayEnergy>();
  log = $state<LogEntry[]>([]);
  pendingWrites = $state(0);
  lastFlushAt = $state<number | undefined>(undefined);
  lastError = $state<string | undefined>(undefined);
  storageFull = $state(false);
  busy = $state<string | undefined>(undefined);
  readonly #now: () => number;
  readonly #unsubscribe: () => void;

  constructor(historian: Historian, site: string, now: () => number = () => Date.now(), series?: SeriesReader) {
    this.historian = historian;
    this.readSeries = series ?? ((query) => readSeries(historian.db, query));
    this.site = site;
    this.#now = now;
    this.#unsubscribe = historian.subscribe({
      log: (entry) => {
        this.log = [entry, ...this.log].slice(0, LOG_LENGTH);
      },
      flushed: (result) => {
        const status = historian.status;
        this.pendingWrites = status.pendingWrites;
        this.lastFlushAt = status.lastFlushAt;
        this.lastError = result.ok ? undefined : result.error;
        this.storageFull = status.storageFull;
      },
    });
  }

  /** Recomputes today's energy per meter from the ledger (what was flushed so far). */
  async refreshToday(meters: readonly MeterInfo[]): Promise<void> {
    const from = startOfLocalDay(this.#now());
    const slots = await readSlotEnergy(this.historian.db, meters.map((m) => m.uid), from, from + 86_400_000 + 3_600_000);
    const totals = new Map<string, { importWh: number; exportWh: number }>();
    for (const s of slots) {
      const t = totals.get(s.meterId) ?? { importWh: 0, exportWh: 0 };
      t.importWh += s.importMwh / 1000;
      t.exportWh += s.exportMwh / 1000;
      totals.set(s.meterId, t);
    }
    for (const m of meters) this.todayEnergy.set(m.uid, totals.get(m.uid) ?? { importWh: 0, exportWh: 0 });
  }

  /** A CSV file of the range, built line by line. */
  async exportCsv(request: ExportRequest): Promise<Blob> {
    const meters = request.uids.length === 0 ? this.historian.meters : this.historian.meters.filter((m) => request.uids.includes(m.uid));
    const parts: string[] = [];
    this.busy = 'Exporting…';
    try {
      // Loaded when first used: exports are rare, the first screen's JavaScript stays small.
      const { csvLines } = await import('../lib/store/export');
      for await (const line of csvLines(this.historian.db, { kind: request.kind, meters, from: request.from, to: request.to, ...(request.resolution ? { resolution: request.resolution } : {}) })) parts.push(line);
      return new Blob(parts, { type: 'text/csv' });
    } finally {
      this.busy = undefined;
    }
  }

  async backup(secrets: SiteSecrets | null, passphrase?: string): Promise<Blob> {
    this.busy = 'Writing the backup…';
    try {
      await this.historian.flush();
      const { writeBackup } = await import('../lib/store/backup');
      const bytes = await writeBackup(this.historian.db, this.site, secrets, passphrase);
      return new Blob([bytes as BlobPart], { type: 'application/octet-stream' });
    } finally {
      this.busy = undefined;
    }
  }

  dispose(): void {
    this.#unsubscribe();
  }
}
