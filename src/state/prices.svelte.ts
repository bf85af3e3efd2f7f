/**
 * The price service in the app, one per attached site: it starts when the site attaches, starts
 * again when the tariff or the price source changes, and stops on disconnect. It holds what the
 * screens show: the price status (live, cached while offline, the tariff's fallback, refused),
 * today's cost of every meter for the tiles, and a revision that bills recompute on. Prices are
 * always read from the cache (IndexedDB, or memory when the browser refuses it), so costs work
 * offline. Thin: fetching, caching and billing live in src/lib/tariff.
 */
import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import type { Historian } from '../lib/aggregator/historian';
import { errorMessage } from '../lib/errors';
import { billMeters, type BillMeter } from '../lib/tariff/billing';
import { CostCache, rangeCosts, type RangeCosts } from '../lib/tariff/costs';
import type { PriceError } from '../lib/tariff/errors';
import type { FetchLike, PriceUnit } from '../lib/tariff/providers/common';
import { FILE_SOURCE_KEY, type PriceSourceConfig } from '../lib/tariff/providers/sources';
import { memoryPriceStore, openPriceStore, type PriceStore } from '../lib/tariff/price-store';
import { PriceService, type PriceStatus, type TariffSlot, tariffSlots } from '../lib/tariff/price-service';
import type { PriceSlot } from '../lib/tariff/slot';
import type { Tariff } from '../lib/tariff/tariff';
import { localDateOf, localDayRange } from '../lib/tariff/zone';
import { readSlotEnergy } from '../lib/store/queries';
import { yieldToPage } from '../lib/tasks/yield';
import type { SiteSettingsState } from './site-settings.svelte';

export interface PricesOptions {
  /** Default: the browser's fetch. */
  readonly fetch?: FetchLike;
  /** Default: the `wattwall-prices` IndexedDB database. */
  readonly openStore?: () => Promise<PriceStore>;
  readonly now?: () => number;
}

/** How long a range of past prices that could not be completed waits before it is asked for again. */
const RANGE_RETRY_MS = 10 * 60_000;

const STARTING: PriceStatus = {
  state: 'fetching',
  source: undefined,
  usingFallback: false,
  knownUntil: undefined,
  lastSuccessAt: undefined,
  lastError: undefined,
  nextAttemptAt: undefined,
  message: '',
};

export class PricesState {
  status = $state.raw<PriceStatus>(STARTING);
  /** Bumped whenever the known prices (or the tariff) may have changed: bills compute again. */
  revision = $state(0);
  /** Today's cost of each meter, cents with VAT: a load's share of the bill; the grid meter's, the site's variable charges. */
  readonly todayCosts = new SvelteMap<string, number>();
  /** Some of today's slots were priced at the tariff's fallback. */
  todayEstimated = $state(false);
  /** The local day (YYYY-MM-DD, in the tariff's zone) todayCosts are for. */
  todayDate = $state<string | undefined>(undefined);
  /** The price cache could not be opened: prices last only as long as the page. */
  cacheProblem = $state<string | undefined>(undefined);
  costError = $state<string | undefined>(undefined);

  readonly #historian: Historian;
  readonly #settings: SiteSettingsState;
  readonly #fetch: FetchLike;
  readonly #openStore: () => Promise<PriceStore>;
  readonly #now: () => number;
  readonly #costs = new CostCache();
  #store: PriceStore | undefined;
  #service: PriceService | undefined;
  #configured = '';
  #todayQueued: Promise<void> | undefined;
  readonly #todayListeners = new Set<() => void>();
  #offService: (() => void) | undefined;
  #offHistorian: (() => void) | undefined;
  #stopEffect: (() => void) | undefined;
  #stopped = false;
  #todayGeneration = 0;
  readonly #rangeAttempts = new Map<string, { at: number; error?: PriceError }>();

  constructor(historian: Historian, settings: SiteSettingsState, options: PricesOptions = {}) {
    this.#historian = historian;
    this.#settings = settings;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#openStore = options.openStore ?? (() => openPriceStore());
    this.#now = options.now ?? (() => Date.now());
  }

  get tariff(): Tariff {
    return this.#settings.value.tariff;
  }

  get source(): PriceSourceConfig | null {
    return this.#settings.value.priceSource;
  }

  /** The bill's meters: the registry's, the grid connection point as `grid`. */
  get meters(): BillMeter[] {
    return billMeters(this.#historian.meters);
  }

  /** Opens the cache and starts the service on the site's settings; follows their changes. */
  async start(): Promise<void> {
    let store: PriceStore;
    try {
      store = await this.#openStore();
    } catch (error) {
      this.cacheProblem = errorMessage(error);
      store = memoryPriceStore();
    }
    if (this.#stopped) {
      store.close();
      return;
    }
    this.#store = store;
    this.#offHistorian = this.#historian.subscribe({
      flushed: (result) => {
        if (result.ok && result.writes > 0) void this.refreshToday();
      },
      meters: () => void this.refreshToday(),
    });
    this.#configure(this.tariff, this.source);
    // Saved settings (the tariff form, a restored backup) start the service again.
    this.#stopEffect = $effect.root(() => {
      $effect(() => {
        const { tariff, priceSource } = this.#settings.value;
        untrack(() => this.#configure(tariff, priceSource));
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#stopEffect?.();
    this.#offHistorian?.();
    this.#offService?.();
    this.#service?.stop();
    this.#service = undefined;
    this.#store?.close();
    this.#store = undefined;
  }

  #configure(tariff: Tariff, source: PriceSourceConfig | null): void {
    const store = this.#store;
    if (this.#stopped || !store) return;
    const key = JSON.stringify([tariff, source]);
    if (key === this.#configured) return;
    this.#configured = key;
    this.#offService?.();
    this.#service?.stop();
    const service = new PriceService({
      source,
      tariff,
      fetch: this.#fetch,
      store,
      offline: () => globalThis.navigator?.onLine === false,
    });
    this.#service = service;
    let seen = '';
    this.#offService = service.subscribe((status) => {
      this.status = status;
      // New prices, or the first run: whatever priced a slot may have changed.
      const known = `${status.lastSuccessAt}|${status.knownUntil}|${status.usingFallback}`;
      if (known !== seen) {
        seen = known;
        this.revision++;
        void this.refreshToday();
      }
    });
    void service.start();
  }

  /** Cached spot prices of `[from, to)`. */
  async slots(from: number, to: number): Promise<PriceSlot[]> {
    return (await this.#service?.slots(from, to)) ?? [];
  }

  /** The tariff's slots over `[from, to)` with the market prices known: what the energy planner plans on. */
  async tariffSlots(from: number, to: number): Promise<TariffSlot[]> {
    return (await this.#service?.tariffSlots(from, to)) ?? tariffSlots(this.tariff, [], from, to);
  }

  /**
   * Fetches the days of `[from, to)` the cache lacks (a past billing period); the error, if any.
   * A range that could not be completed is not asked for again for a while, so a bill that
   * recomputes every few seconds does not hammer a provider that is down.
   */
  async ensureRange(from: number, to: number): Promise<PriceError | undefined> {
    const service = this.#service;
    if (!service) return undefined;
    const key = `${this.#configured}|${from}|${to}`;
    const last = this.#rangeAttempts.get(key);
    if (last && this.#now() - last.at < RANGE_RETRY_MS) return last.error;
    const before = (await service.slots(from, to)).length;
    const result = await service.ensureRange(from, to);
    if (result.complete) this.#rangeAttempts.delete(key);
    else this.#rangeAttempts.set(key, { at: this.#now(), ...(result.error ? { error: result.error } : {}) });
    if ((await service.slots(from, to)).length !== before) {
      this.revision++;
      void this.refreshToday();
    }
    return result.error;
  }

  /** Reads a price file into the cache of the `file` source; throws PriceError naming the bad row. */
  async importFile(text: string, unit: PriceUnit): Promise<{ slots: number; from: number; to: number }> {
    const service = this.#service;
    if (!service) throw new Error('not connected');
    const result = await service.importFile(text, { unit });
    this.revision++;
    void this.refreshToday();
    return result;
  }

  /**
   * Spot prices another site holds (a remote viewer's replica): kept as the `file` source's, which
   * the replica's settings name, so the viewer bills with the site's own prices.
   */
  async adoptSlots(slots: readonly PriceSlot[]): Promise<void> {
    const store = this.#store;
    if (!store || slots.length === 0) return;
    await store.put(FILE_SOURCE_KEY, slots, this.#now());
    this.revision++;
    void this.refreshToday();
  }

  /** The ledger's energy of every registered meter in `[from, to)`. */
  energy = (from: number, to: number) => readSlotEnergy(this.#historian.db, this.#historian.meters.map((m) => m.uid), from, to);

  /** What each meter cost in `[from, to)` up to now (closed months remembered). */
  costs(from: number, to: number): Promise<RangeCosts> {
    return rangeCosts({ tariff: this.tariff, meters: this.meters, from, to, now: this.#now(), energy: this.energy, spot: (f, t) => this.slots(f, t), revision: this.revision }, this.#costs);
  }

  /**
   * Today's cost of every meter, in the tariff's local day. Calls in one go (six meters identified
   * in a burst, a flush) make one computation, in a task of its own.
   */
  refreshToday(): Promise<void> {
    if (this.#todayQueued) return this.#todayQueued;
    const queued = yieldToPage().then(() => {
      this.#todayQueued = undefined;
      return this.#refreshTodayNow();
    });
    this.#todayQueued = queued;
    return queued;
  }

  /** Called each time today's costs have been computed (the remote view publishes them). */
  onToday(listener: () => void): () => void {
    this.#todayListeners.add(listener);
    return () => this.#todayListeners.delete(listener);
  }

  async #refreshTodayNow(): Promise<void> {
    if (this.#stopped || !this.#store) return;
    const generation = ++this.#todayGeneration;
    const tz = this.tariff.timeZone;
    const date = localDateOf(this.#now(), tz);
    const day = localDayRange(date, tz);
    try {
      const costs = await this.costs(day.start, day.end);
      if (generation !== this.#todayGeneration) return;
      for (const meter of this.#historian.meters) {
        this.todayCosts.set(meter.uid, meter.gridPoint ? costs.chargesCents : (costs.byCentre.get(meter.uid) ?? 0));
      }
      this.todayEstimated = costs.fallbackSlots > 0;
      this.todayDate = date;
      this.costError = undefined;
      for (const listener of this.#todayListeners) listener();
    } catch (error) {
      if (generation === this.#todayGeneration) this.costError = errorMessage(error);
    }
  }
}
