/**
 * The price service: fetches the configured source on a schedule (today at start, tomorrow once
 * the day-ahead results are out, about 13:00 CET), retries failures with exponential backoff,
 * caches every slot in IndexedDB so bills and plans work offline, and says in one status what the
 * screen should tell the user: live prices, cached prices while offline, or the tariff's fallback.
 */
import { bandOf } from './bands';
import { isPriceError, PriceError, type PriceErrorKind } from './errors';
import type { PriceStore, SourceMeta } from './price-store';
import type { FetchLike } from './providers/common';
import { type FileImportOptions, parsePriceFile } from './providers/file';
import type { PriceProvider } from './providers/provider';
import { createProvider, FILE_SOURCE_KEY, type PriceSourceConfig, sourceCurrency } from './providers/sources';
import { type PriceSlot, SLOT_MS, slotStart } from './slot';
import { importPricePerKwh, needsSpotPrices, slotRates, type SlotRates, type Tariff } from './tariff';
import { addDays, instantsOfWallTime, localDateOf, localDayRange } from './zone';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export type PriceState =
  /** The tariff needs no market prices. */
  | 'not-needed'
  | 'fetching'
  /** The current slot's price is known and nothing is pending. */
  | 'live'
  /** Today is known; tomorrow's prices are not out yet. */
  | 'waiting'
  /** The last fetch failed; cached prices cover the current slot. */
  | 'offline'
  /** No price is known for the current slot: the tariff's fallback applies. */
  | 'fallback'
  /** Fetching fails in a way only the user can fix (token, CORS, settings). */
  | 'blocked';

export interface PriceStatus {
  readonly state: PriceState;
  /** The source's name for people, e.g. "Energy-Charts (IT-North)". */
  readonly source: string | undefined;
  /** True when the current slot is priced at the tariff's fallback: the screen must say so. */
  readonly usingFallback: boolean;
  /** End of the run of known slots that starts with the current one. */
  readonly knownUntil: number | undefined;
  readonly lastSuccessAt: number | undefined;
  readonly lastError: { readonly kind: PriceErrorKind; readonly message: string; readonly at: number } | undefined;
  readonly nextAttemptAt: number | undefined;
  /** One or two plain sentences for the screen. */
  readonly message: string;
}

/** One slot as bills and planners see it: band, rates (before VAT) and the all-in import price. */
export interface TariffSlot {
  readonly start: number;
  readonly end: number;
  readonly band: string;
  readonly rates: SlotRates;
  /** Currency per kWh imported, energy + grid fee + excise + VAT. */
  readonly importPrice: number;
  /** Currency per kWh exported. */
  readonly feedInPrice: number;
}

/** The tariff applied to `[from, to)` with the spot prices known: every slot, the unknown ones at the fallback. */
export function tariffSlots(tariff: Tariff, spot: readonly PriceSlot[], from: number, to: number): TariffSlot[] {
  const prices = new Map(spot.map((s) => [s.start, s.price] as const));
  const slots: TariffSlot[] = [];
  for (let start = slotStart(from); start < to; start += SLOT_MS) {
    const band = bandOf(start, tariff.bands, tariff.timeZone);
    const rates = slotRates(tariff, band, prices.get(start));
    slots.push({ start, end: start + SLOT_MS, band, rates, importPrice: importPricePerKwh(rates, tariff.vatPercent), feedInPrice: rates.feedIn });
  }
  return slots;
}

export interface PriceServiceOptions {
  readonly source: PriceSourceConfig | null;
  readonly tariff: Tariff;
  readonly fetch: FetchLike;
  readonly store: PriceStore;
  readonly clock?: Clock;
  /** In [0, 1): jitter of the backoff. */
  readonly random?: () => number;
  /** navigator.onLine === false */
  readonly offline?: () => boolean;
  /** First retry after a failure, doubling up to `maxMs` (default 1 min to 1 h). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** How often to look for tomorrow's prices once they are due but not out (default 15 min). */
  readonly pollMs?: number;
  /** Margin after the usual publication time before asking (default 5 min). */
  readonly publicationMarginMs?: number;
}

/** Days fetched at most per request when filling the cache for a past period. */
const HISTORY_CHUNK_DAYS = 31;

export class PriceService {
  private readonly tariff: Tariff;
  private readonly store: PriceStore;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly provider: PriceProvider | undefined;
  private readonly sourceKey: string | undefined;
  private readonly label: string | undefined;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly pollMs: number;
  private readonly marginMs: number;
  private readonly configError: PriceError | undefined;

  private timer: unknown;
  private pending: Promise<void> = Promise.resolve();
  private running = false;
  private fetching = false;
  private failures = 0;
  private abort: AbortController | undefined;
  private window: PriceSlot[] = [];
  private wantTomorrow = false;
  private tomorrowComplete = false;
  private lastSuccessAt: number | undefined;
  private lastError: PriceStatus['lastError'];
  private lastErrorRetryable = true;
  private nextAttemptAt: number | undefined;
  private readonly listeners = new Set<(status: PriceStatus) => void>();
  private current: PriceStatus;

  constructor(private readonly options: PriceServiceOptions) {
    this.tariff = options.tariff;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = { initialMs: 60_000, maxMs: 3_600_000, ...options.backoff };
    this.pollMs = options.pollMs ?? 15 * 60_000;
    this.marginMs = options.publicationMarginMs ?? 5 * 60_000;
    const source = options.source;
    if (source) {
      this.provider = createProvider(source, { fetch: options.fetch, ...(options.offline ? { offline: options.offline } : {}) });
      this.sourceKey = this.provider?.sourceKey ?? FILE_SOURCE_KEY;
      this.label = this.provider?.label ?? 'Imported prices';
      const currency = sourceCurrency(source);
      if (currency !== this.tariff.currency) this.configError = new PriceError('config', `${this.label} gives prices in ${currency} but the tariff is in ${this.tariff.currency}; choose a source in ${this.tariff.currency}.`);
    }
    this.current = this.computeStatus();
  }

  get status(): PriceStatus {
    return this.current;
  }

  /** Calls `listener` with every new status; returns the unsubscribe function. */
  subscribe(listener: (status: PriceStatus) => void): () => void {
    this.listeners.add(listener);
    listener(this.current);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the run the schedule last started has finished. */
  get idle(): Promise<void> {
    return this.pending;
  }

  /** Loads the remembered state and starts the schedule (a first fetch right away). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.sourceKey) {
      const meta = await this.store.getMeta(this.sourceKey).catch(() => undefined);
      this.lastSuccessAt = meta?.lastSuccessAt;
      this.lastError = meta?.lastError;
    }
    await this.refresh();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAttemptAt = undefined;
    this.publish();
  }

  /** Cached spot prices of `[from, to)` (empty without a source). */
  async slots(from: number, to: number): Promise<PriceSlot[]> {
    if (!this.sourceKey) return [];
    try {
      return await this.store.get(this.sourceKey, from, to);
    } catch {
      return this.window.filter((s) => s.start >= from && s.start < to);
    }
  }

  /** The tariff's slots over `[from, to)` with what is known: for the planner and the price chart. */
  async tariffSlots(from: number, to: number): Promise<TariffSlot[]> {
    return tariffSlots(this.tariff, needsSpotPrices(this.tariff) ? await this.slots(from, to) : [], from, to);
  }

  /**
   * Fills the cache over `[from, to)` (a past billing period), fetching only days it lacks.
   * Resolves with whether every slot up to now is known; a failure is reported, not thrown.
   */
  async ensureRange(from: number, to: number): Promise<{ readonly complete: boolean; readonly error?: PriceError }> {
    if (!this.provider || !this.sourceKey || this.configError) return { complete: false, ...(this.configError ? { error: this.configError } : {}) };
    const end = Math.min(to, localDayRange(addDays(localDateOf(this.clock.now(), this.tariff.timeZone), 2), this.tariff.timeZone).start);
    const missing: { start: number; end: number }[] = [];
    const known = new Set((await this.slots(from, end)).map((s) => s.start));
    for (let date = localDateOf(from, this.tariff.timeZone); ; date = addDays(date, 1)) {
      const day = localDayRange(date, this.tariff.timeZone);
      if (day.start >= end) break;
      let complete = true;
      for (let t = Math.max(day.start, from); t < Math.min(day.end, end); t += SLOT_MS) if (!known.has(t)) complete = false;
      if (!complete) {
        const last = missing[missing.length - 1];
        if (last && last.end === day.start && (day.end - last.start) / 86_400_000 <= HISTORY_CHUNK_DAYS + 1) last.end = day.end;
        else missing.push({ start: day.start, end: day.end });
      }
    }
    if (missing.length === 0) return { complete: true };
    if (!this.provider.history) return { complete: false };
    try {
      for (const range of missing) {
        const slots = await this.provider.fetchRange(Math.max(range.start, from), Math.min(range.end, end));
        await this.store.put(this.sourceKey, slots, this.clock.now());
      }
    } catch (error) {
      return { complete: false, error: asPriceError(error) };
    }
    const after = await this.slots(from, end);
    return { complete: after.length === (end - slotStart(from)) / SLOT_MS };
  }

  /** Reads a price file and caches its slots for the `file` source. Nothing is stored from a bad file. */
  async importFile(text: string, options: Omit<FileImportOptions, 'timeZone'> & { readonly timeZone?: string }): Promise<{ readonly slots: number; readonly from: number; readonly to: number }> {
    const slots = parsePriceFile(text, { unit: options.unit, timeZone: options.timeZone ?? this.tariff.timeZone });
    await this.store.put(FILE_SOURCE_KEY, slots, this.clock.now());
    if (this.sourceKey === FILE_SOURCE_KEY) await this.loadWindow();
    this.publish();
    return { slots: slots.length, from: slots[0]?.start ?? 0, to: slots[slots.length - 1]?.end ?? 0 };
  }

  /** Fetches what today (and tomorrow, once due) still lacks, now; then schedules the next run. */
  async refresh(): Promise<void> {
    if (!this.sourceKey || !needsSpotPrices(this.tariff)) {
      this.publish();
      return;
    }
    if (this.configError) {
      this.fail(this.configError);
      return;
    }
    if (this.fetching) return;
    const now = this.clock.now();
    const { todayStart, todayEnd, tomorrowEnd, publication } = this.days(now);
    this.wantTomorrow = now >= publication;
    const windowEnd = this.wantTomorrow ? tomorrowEnd : todayEnd;
    await this.loadWindow();
    if (!this.provider) {
      // Imported prices: nothing to fetch; look at the cache again when the day turns.
      this.tomorrowComplete = this.covered(todayEnd, tomorrowEnd);
      this.scheduleAt(todayEnd);
      this.publish();
      return;
    }
    if (this.covered(todayStart, windowEnd)) {
      this.tomorrowComplete = this.covered(todayEnd, tomorrowEnd);
      this.scheduleAt(this.wantTomorrow ? this.days(todayEnd).publication + this.marginMs : publication + this.marginMs);
      this.publish();
      return;
    }
    this.fetching = true;
    this.abort = new AbortController();
    this.publish();
    try {
      const fetched = await this.provider.fetchRange(todayStart, windowEnd, this.abort.signal);
      const inWindow = fetched.filter((s) => s.start >= todayStart && s.start < windowEnd);
      await this.store.put(this.sourceKey, inWindow, now).catch((error: unknown) => {
        // The cache is full or gone: keep the prices for this session and say so.
        this.lastError = { kind: 'config', message: error instanceof Error ? error.message : String(error), at: now };
      });
      this.mergeWindow(inWindow);
      this.fetching = false;
      this.failures = 0;
      this.lastSuccessAt = now;
      if (this.lastError && this.lastError.at < now) this.lastError = undefined;
      this.lastErrorRetryable = true;
      this.tomorrowComplete = this.covered(todayEnd, tomorrowEnd);
      const todayComplete = this.covered(todayStart, todayEnd);
      if (!todayComplete || (this.wantTomorrow && !this.tomorrowComplete)) this.scheduleIn(this.pollMs);
      else this.scheduleAt(this.wantTomorrow ? this.days(todayEnd).publication + this.marginMs : publication + this.marginMs);
      await this.saveMeta();
      this.publish();
    } catch (error) {
      this.fetching = false;
      if (!this.running && isPriceError(error) && error.kind === 'aborted') return;
      this.fail(asPriceError(error));
    }
  }

  private fail(error: PriceError): void {
    const now = this.clock.now();
    this.lastError = { kind: error.kind, message: error.message, at: now };
    this.lastErrorRetryable = error.retryable;
    if (error.retryable) {
      this.failures++;
      const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
      const jittered = base * (0.8 + 0.4 * this.random());
      this.scheduleIn(Math.max(jittered, error.details.retryAfterMs ?? 0));
    } else {
      // Only the user can fix it; look again once a day, in case the provider fixed it.
      this.scheduleAt(this.days(this.days(now).todayEnd).publication + this.marginMs);
    }
    void this.saveMeta();
    this.publish();
  }

  private days(now: number): { todayStart: number; todayEnd: number; tomorrowEnd: number; publication: number } {
    const tz = this.tariff.timeZone;
    const today = localDateOf(now, tz);
    const { start: todayStart, end: todayEnd } = localDayRange(today, tz);
    const tomorrowEnd = localDayRange(addDays(today, 1), tz).end;
    const pub = this.provider?.publication ?? { hour: 13, minute: 0, timeZone: tz };
    const pubDate = localDateOf(now, pub.timeZone);
    const publication = instantsOfWallTime(pubDate, pub.hour, pub.minute, pub.timeZone)[0] ?? todayStart + 13 * 3_600_000;
    return { todayStart, todayEnd, tomorrowEnd, publication };
  }

  private async loadWindow(): Promise<void> {
    if (!this.sourceKey) return;
    const now = this.clock.now();
    const { todayStart, tomorrowEnd } = this.days(now);
    try {
      this.window = await this.store.get(this.sourceKey, todayStart, tomorrowEnd);
    } catch {
      // Keep what this session fetched.
    }
  }

  private mergeWindow(slots: readonly PriceSlot[]): void {
    const byStart = new Map(this.window.map((s) => [s.start, s] as const));
    for (const s of slots) byStart.set(s.start, s);
    this.window = [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  private covered(from: number, to: number): boolean {
    const known = new Set(this.window.map((s) => s.start));
    for (let t = from; t < to; t += SLOT_MS) if (!known.has(t)) return false;
    return true;
  }

  private knownUntil(now: number): number | undefined {
    const known = new Set(this.window.map((s) => s.start));
    let t = slotStart(now);
    if (!known.has(t)) return undefined;
    while (known.has(t)) t += SLOT_MS;
    return t;
  }

  private scheduleIn(ms: number): void {
    this.scheduleAt(this.clock.now() + Math.max(1000, ms));
  }

  private scheduleAt(at: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) {
      this.nextAttemptAt = undefined;
      return;
    }
    const when = Math.max(at, this.clock.now() + 1000);
    this.nextAttemptAt = when;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pending = this.refresh();
    }, when - this.clock.now());
  }

  private async saveMeta(): Promise<void> {
    if (!this.sourceKey) return;
    const meta: SourceMeta = {
      source: this.sourceKey,
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
    await this.store.putMeta(meta).catch(() => undefined);
  }

  private publish(): void {
    this.current = this.computeStatus();
    for (const listener of this.listeners) listener(this.current);
  }

  private computeStatus(): PriceStatus {
    const now = this.clock.now();
    const base = { source: this.label, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError, nextAttemptAt: this.nextAttemptAt };
    if (!needsSpotPrices(this.tariff)) {
      return { ...base, state: 'not-needed', usingFallback: false, knownUntil: undefined, message: 'This tariff does not depend on market prices.' };
    }
    if (!this.sourceKey) {
      return { ...base, state: 'fallback', usingFallback: true, knownUntil: undefined, message: "No price source is set: costs use the tariff's fallback prices." };
    }
    const knownUntil = this.knownUntil(now);
    const usingFallback = knownUntil === undefined;
    const at = (ms: number | undefined): string => (ms === undefined ? '' : formatWhen(ms, this.tariff.timeZone));
    const next = this.nextAttemptAt !== undefined ? ` Next try ${at(this.nextAttemptAt)}.` : '';
    const fallbackNote = usingFallback ? " Costs use the tariff's fallback prices until market prices are known." : ` Cached prices are known until ${at(knownUntil)}.`;
    if (this.fetching) {
      return { ...base, state: 'fetching', usingFallback, knownUntil, message: `Fetching prices from ${this.label}...${usingFallback ? '' : ` Known until ${at(knownUntil)}.`}` };
    }
    const failing = this.lastError !== undefined && (this.lastSuccessAt === undefined || this.lastError.at >= this.lastSuccessAt);
    if (failing && this.lastError) {
      if (!this.lastErrorRetryable) return { ...base, state: 'blocked', usingFallback, knownUntil, message: `${this.lastError.message}${fallbackNote}` };
      return { ...base, state: usingFallback ? 'fallback' : 'offline', usingFallback, knownUntil, message: `${this.lastError.message}${fallbackNote}${next}` };
    }
    if (usingFallback) {
      return { ...base, state: 'fallback', usingFallback, knownUntil, message: `${this.label} has no price for now yet: costs use the tariff's fallback prices.${next}` };
    }
    if (this.wantTomorrow && !this.tomorrowComplete) {
      return { ...base, state: 'waiting', usingFallback, knownUntil, message: `Prices from ${this.label}, known until ${at(knownUntil)}; tomorrow's are not out yet.${next}` };
    }
    return { ...base, state: 'live', usingFallback, knownUntil, message: `Prices from ${this.label}, known until ${at(knownUntil)}.` };
  }
}

function asPriceError(error: unknown): PriceError {
  if (isPriceError(error)) return error;
  return new PriceError('malformed', `Prices could not be read: ${error instanceof Error ? error.message : String(error)}. Nothing was stored.`);
}

function formatWhen(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}
