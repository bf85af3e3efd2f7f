/**
 * What the screens know about the bus: link state, the latest verified reading of every meter,
 * the registry, alarms, poll timing and the history. Thin: connecting, polling, verifying,
 * storing and decoding live in src/lib.
 */
import { SvelteMap } from 'svelte/reactivity';
import { Aggregator, type CycleTiming, type SnapshotReading } from '../lib/aggregator/aggregator';
import { type Alarm, AlarmMonitor } from '../lib/aggregator/alarms';
import { Historian, type MeterPatch } from '../lib/aggregator/historian';
import { applySiteSecrets, loadOrCreateSiteKey, markSiteKeyShown, persistentSite, replaceSiteKey, siteFingerprint, siteKeyShown, siteSecrets } from '../lib/aggregator/site';
import { toHex } from '../lib/meter/keys';
import { viewingAtStart } from '../lib/remote/viewing';
import type { CanTransport, LinkStatus } from '../lib/can/transport';
import { errorMessage } from '../lib/errors';
import { yieldToPage } from '../lib/tasks/yield';
import { DEMO_SITE_KEY } from '../lib/meter/keys';
import type { AckRecord } from '../lib/meter/records';
import { browserEstimate } from '../lib/store/retention';
import { type HistoryDb, historyDbName, type MeterInfo, type MeterKind, openHistory } from '../lib/store/schema';
import { sitePower, type SitePower } from '../lib/aggregator/site-power';
import { AdapterState } from './adapter.svelte';
import type { EnergyState } from './energy.svelte';
import { HistoryState } from './history.svelte';
import type { PricesState } from './prices.svelte';
import type { RemoteState } from './remote.svelte';
import type { RemoteViewing } from './remote-view.svelte';
import type { SiteSettingsState } from './site-settings.svelte';

export type SourceKind = 'demo' | 'adapter' | 'remote';

/** What the storage-full alarm says: what is kept where, and what the user can do. */
function storageFullDetail(ledgerSaved: boolean): string {
  return `${ledgerSaved ? 'the energy counts are saved; the' : 'the'} readings wait in memory and are written as soon as there is room again (nothing is lost while this tab stays open): free some space on the device, or shorten what the history keeps`;
}

export interface MeterTileState {
  readonly node: number;
  /** Known once the meter proved its identity. */
  readonly uid: string | undefined;
  readonly name: string;
  readonly kind: MeterKind;
  readonly watts: number;
  readonly volts: number;
  readonly amps: number;
  readonly relayOn: boolean;
  readonly at: number;
  readonly latencyMs: number | undefined;
  /** Median over the last minute of replies. */
  readonly medianLatencyMs: number | undefined;
  /** Polls that got no reply, since the session started. */
  readonly missed: number;
  readonly silent: boolean;
  /** Records from this meter that failed verification. */
  readonly rejected: number;
}

/** How often the history is written (and today's energy recomputed) and burst alarms aged, ms. */
const FLUSH_MS = 5_000;
const ALARM_TICK_MS = 10_000;
const PRUNE_MS = 3_600_000;
const LOCK_NAME = 'wattwall-bus';

export class BusSession {
  link = $state<LinkStatus>('disconnected');
  linkDetail = $state<string | undefined>(undefined);
  source = $state<SourceKind | undefined>(undefined);
  adapterLabel = $state('');
  error = $state<string | undefined>(undefined);
  bitrate = $state(125_000);
  pollIntervalMs = $state(1000);
  registry = $state.raw<readonly MeterInfo[]>([]);
  alarms = $state.raw<readonly Alarm[]>([]);
  cycle = $state.raw<CycleTiming | undefined>(undefined);
  history = $state.raw<HistoryState | undefined>(undefined);
  settings = $state.raw<SiteSettingsState | undefined>(undefined);
  /** The price service of the attached site, its status and today's costs. */
  prices = $state.raw<PricesState | undefined>(undefined);
  /** The contracted-power guard and the planned runs (src/state/energy.svelte.ts). */
  energy = $state.raw<EnergyState | undefined>(undefined);
  /** This site on an MQTT broker: the publisher and the paired viewers (src/state/remote.svelte.ts). */
  remote = $state.raw<RemoteState | undefined>(undefined);
  /** Viewing another site through a broker (source 'remote'): which, and how the link is. */
  viewing = $state.raw<RemoteViewing | undefined>(undefined);
  /** Another tab has the bus: this one only says so. */
  secondary = $state(false);
  readonly meters = new SvelteMap<number, MeterTileState>();
  /** The USB adapter: picking, reconnecting, the bus monitor. Its transports arrive through onTransport. */
  readonly adapter = new AdapterState({ bitrate: () => this.bitrate });

  #aggregator: Aggregator | undefined;
  #historian: Historian | undefined;
  #db: HistoryDb | undefined;
  #siteKey: Uint8Array | undefined;
  #names = new Map<number, { name: string; kind: MeterKind }>();
  #stopDemo: (() => void) | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  readonly #alarmMonitor = new AlarmMonitor();
  #releaseLock: (() => void) | undefined;
  #userClosed = false;
  #closeViewing: (() => Promise<void>) | undefined;
  /** Counts disconnects: a start-up that one overtook stops where it is and closes what it opened. */
  #generation = 0;

  constructor() {
    this.#alarmMonitor.subscribe((alarms) => (this.alarms = alarms));
    this.adapter.onTransport((transport) => void this.#useAdapter(transport));
  }

  get sortedMeters(): MeterTileState[] {
    return [...this.meters.values()].sort((a, b) => a.node - b.node);
  }

  /** The registry entry of a live tile, if the meter proved its uid. */
  info(uid: string | undefined): MeterInfo | undefined {
    return uid === undefined ? undefined : this.registry.find((m) => m.uid === uid);
  }

  /** Consumption, generation and grid exchange from the live readings. */
  get site(): SitePower {
    return sitePower(
      this.sortedMeters.map((tile) => {
        const info = this.info(tile.uid);
        return { kind: info?.kind ?? tile.kind, gridPoint: info?.gridPoint ?? false, watts: tile.watts, silent: tile.silent };
      }),
    );
  }

  /**
   * Every verified meter has given a reading (or missed a poll, so its absence is real): until
   * then, in the first poll cycle, a balance without a grid meter leaves out meters still to answer.
   */
  get siteComplete(): boolean {
    const aggregator = this.#aggregator;
    if (!aggregator) return false;
    return aggregator.meters.every((node) => this.meters.has(node) || (aggregator.pollStats(node)?.missed ?? 0) > 0);
  }

  /** At start: an adapter the user chose before, if it is plugged in; otherwise the demo bus. */
  async start(): Promise<void> {
    // A viewer of a remote site (a phone, the installer's laptop) opens on that site again.
    const viewing = viewingAtStart(localStorage);
    if (viewing) {
      await this.viewRemote(viewing);
      return;
    }
    if (!(await this.#lock(false))) return;
    if (await this.adapter.resume().catch(() => false)) return;
    if (!this.#aggregator && this.source !== 'adapter') await this.connectDemo();
  }

  /** This tab takes the bus from another one (which stops). */
  async takeOver(): Promise<void> {
    if (await this.#lock(true)) {
      this.secondary = false;
      this.error = undefined;
      await this.start();
    }
  }

  /** The simulated household: the app's default when no adapter is connected. */
  async connectDemo(): Promise<void> {
    if (this.source === 'remote') await this.#forgetViewing();
    await this.disconnect();
    this.error = undefined;
    try {
      const [{ startDemoWorker }, { keyValueNvStore }] = await Promise.all([import('../lib/sim/demo-client'), import('../lib/sim/nv-store')]);
      // The demo meters keep their flash across reloads, as real ones do across power cuts.
      const nv = keyValueNvStore(localStorage, 'wattwall.demo.meter-nv');
      const now = new Date();
      const demo = await startDemoWorker({
        bitrate: this.bitrate,
        siteKey: DEMO_SITE_KEY,
        startHour: now.getHours() + now.getMinutes() / 60,
        nv: nv.entries(),
        saveNv: (node, bytes) => nv.save(node, bytes),
      });
      const label = 'Demo bus (simulated meters)';
      const transport = await this.adapter.openDemo(demo.port, label);
      // The remembered adapter was plugged in while the demo loaded: it has the bus now.
      if (this.#aggregator || this.source === 'adapter') {
        await transport.close();
        demo.stop();
        return;
      }
      this.#stopDemo = () => demo.stop();
      this.#names = new Map(demo.meters.map((m) => [m.nodeId, { name: m.name, kind: m.kind }]));
      this.source = 'demo';
      this.adapterLabel = label;
      await this.#attach(transport, DEMO_SITE_KEY);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** An adapter transport from AdapterState (picked, or plugged back in): it replaces whatever runs. */
  async #useAdapter(transport: CanTransport): Promise<void> {
    if (this.source === 'remote') await this.#forgetViewing();
    await this.disconnect();
    this.error = undefined;
    this.#names = new Map();
    try {
      this.source = 'adapter';
      this.adapterLabel = transport.label;
      await this.#attach(transport, loadOrCreateSiteKey(localStorage));
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Shows another site through its MQTT broker (docs/deployment.md): its meters live, its history
   * mirrored into this browser, its loads switched by signed commands. No adapter, no bus here.
   */
  async viewRemote(site: string): Promise<void> {
    await this.disconnect();
    this.error = undefined;
    try {
      const { openRemoteView } = await import('./remote-view.svelte');
      this.source = 'remote';
      this.link = 'connecting';
      const view = await openRemoteView(site, {
        tiles: this.meters,
        alarms: this.#alarmMonitor,
        link: (status, detail) => {
          this.link = status;
          this.linkDetail = detail;
        },
        registry: (meters) => (this.registry = meters),
      });
      this.#closeViewing = view.close;
      this.viewing = view.viewing;
      this.history = view.history;
      this.settings = view.settings;
      this.prices = view.prices;
      this.registry = view.history.historian.meters;
      this.adapterLabel = view.viewing.label;
      this.#every(FLUSH_MS, () => void view.history.historian.flush());
      this.#every(ALARM_TICK_MS, () => view.tick());
    } catch (error) {
      this.source = undefined;
      this.#fail(error);
    }
  }

  /** Back from a remote site to this device's own bus (the demo bus, or the adapter). */
  async stopViewing(): Promise<void> {
    await this.#forgetViewing();
    await this.disconnect();
    await this.start();
  }

  /** The app opens on this device's bus next time, not on the remote site. */
  async #forgetViewing(): Promise<void> {
    if (viewingAtStart(localStorage) === undefined) return;
    const { loadViewerConfig, saveViewerConfig } = await import('../lib/remote/viewer-config');
    saveViewerConfig(localStorage, { ...loadViewerConfig(localStorage), viewing: undefined });
  }

  /** A remote site's load switched by a command signed here and checked there (with the PIN when the site has one). */
  async switchRemote(node: number, on: boolean, pin?: string): Promise<{ ok: boolean; detail: string }> {
    const viewing = this.viewing;
    const uid = this.registry.find((m) => m.node === node)?.uid;
    if (!viewing || !uid) throw new Error('not viewing a remote site');
    return viewing.command(uid, on, pin);
  }

  async disconnect(): Promise<void> {
    this.#generation++;
    this.#userClosed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const closeViewing = this.#closeViewing;
    this.#closeViewing = undefined;
    this.viewing = undefined;
    await closeViewing?.().catch(() => undefined);
    const remote = this.remote;
    this.remote = undefined;
    await remote?.stop();
    this.energy?.stop();
    this.energy = undefined;
    const aggregator = this.#aggregator;
    this.#aggregator = undefined;
    await aggregator?.stop();
    // The screens' history first: the historian's last flush must not start a read of a closing store.
    this.history?.dispose();
    this.history = undefined;
    await this.#historian?.close().catch(() => undefined);
    this.#historian = undefined;
    this.prices?.stop();
    this.prices = undefined;
    this.settings = undefined;
    this.#db?.close();
    this.#db = undefined;
    this.#stopDemo?.();
    this.#stopDemo = undefined;
    this.meters.clear();
    this.registry = [];
    this.cycle = undefined;
    this.#alarmMonitor.clearAll();
    this.source = undefined;
    this.#userClosed = false;
  }

  /** Renames or reclassifies a meter of the registry. */
  updateMeter(uid: string, patch: MeterPatch): void {
    const historian = this.#historian;
    if (!historian) throw new Error('not connected');
    historian.updateMeter(uid, patch);
  }

  setPollInterval(ms: number): void {
    this.#aggregator?.setPollInterval(ms);
    this.pollIntervalMs = ms;
  }

  setRelay(node: number, on: boolean): Promise<AckRecord> {
    const aggregator = this.#aggregator;
    if (!aggregator) return Promise.reject(new Error('not connected'));
    return aggregator.setRelay(node, on);
  }

  /** This installation's site key (the one real meters are provisioned with), as hex. */
  installationKey(): { hex: string; fingerprint: string; shown: boolean } {
    const key = loadOrCreateSiteKey(localStorage);
    return { hex: toHex(key), fingerprint: siteFingerprint(key), shown: siteKeyShown(localStorage) };
  }

  /** The user has written the key down: it is not shown again unasked. */
  markKeyShown(): void {
    markSiteKeyShown(localStorage);
  }

  /** A new installation key; meters must be provisioned again. Reconnects a real adapter. */
  async replaceKey(): Promise<{ hex: string; fingerprint: string; shown: boolean }> {
    const wasSerial = this.source === 'adapter';
    if (wasSerial) await this.disconnect();
    replaceSiteKey(localStorage);
    if (wasSerial) await this.start();
    return this.installationKey();
  }

  /** Changes the bus's bit rate: the adapter (or the demo bus) is opened again at the new rate. */
  async setBitrate(bitrate: number): Promise<void> {
    this.bitrate = bitrate;
    const source = this.source;
    if (source === 'demo') await this.connectDemo();
    else if (source === 'adapter') {
      await this.disconnect();
      await this.start();
    }
  }

  /** A backup file of this site; a real site's carries its key and counters, the demo's none. */
  async backup(passphrase?: string): Promise<Blob> {
    const history = this.history;
    const siteKey = this.#siteKey;
    if (!history || !siteKey) throw new Error('not connected: nothing to back up');
    return history.backup(this.source === 'demo' ? null : siteSecrets(siteKey, localStorage), passphrase);
  }

  /**
   * Replaces a site's history with a backup and installs its secrets, then starts again on it.
   * The bus stops meanwhile, so nothing writes while the rows are replaced.
   */
  async restore(file: Blob, passphrase?: string): Promise<{ rows: number }> {
    const { readBackup, restoreBackup } = await import('../lib/store/backup');
    const parsed = await readBackup(new Uint8Array(await file.arrayBuffer()), passphrase);
    const wasDemo = this.source === 'demo';
    await this.disconnect();
    const db = await openHistory(historyDbName(parsed.header.site));
    try {
      const result = await restoreBackup(db, parsed);
      if (parsed.header.secrets) applySiteSecrets(parsed.header.secrets, localStorage);
      return result;
    } finally {
      db.close();
      await (wasDemo && !parsed.header.secrets ? this.connectDemo() : this.start());
    }
  }

  async #attach(transport: CanTransport, siteKey: Uint8Array): Promise<void> {
    const generation = this.#generation;
    const overtaken = () => generation !== this.#generation;
    const site = await persistentSite(siteKey, localStorage);
    const fingerprint = siteFingerprint(siteKey);
    const db = await openHistory(historyDbName(fingerprint));
    const estimate = browserEstimate();
    const historian = await Historian.open(db, { meterHint: (node) => this.#names.get(node), ...(estimate ? { estimateBytes: estimate } : {}) });
    if (overtaken()) {
      await historian.close().catch(() => undefined);
      db.close();
      await transport.close();
      return;
    }
    const aggregator = new Aggregator(transport, { ...site, bitrate: this.bitrate, intervalMs: this.pollIntervalMs });
    this.#siteKey = siteKey;
    this.#db = db;
    this.#historian = historian;
    this.history = new HistoryState(historian, fingerprint);
    // The tariff, prices and settings load with the site, not with the first screen's JavaScript.
    const [{ SiteSettingsState }, { PricesState }] = await Promise.all([import('./site-settings.svelte'), import('./prices.svelte')]);
    if (overtaken()) return transport.close();
    const settings = await SiteSettingsState.load(historian);
    if (overtaken()) return transport.close();
    this.settings = settings;
    const prices = new PricesState(historian, settings);
    this.prices = prices;
    prices.onToday(() => this.remote?.costsChanged());
    void prices.start();
    // Start-up in steps, each its own task, so the first screen stays responsive.
    await yieldToPage();
    if (overtaken()) return transport.close();
    this.registry = historian.meters;
    historian.subscribe({
      meters: (meters) => {
        this.registry = meters;
        for (const [node, tile] of this.meters) this.meters.set(node, this.#withInfo(tile));
        this.remote?.metersChanged();
      },
      flushed: (result) => {
        this.#alarmMonitor.storage(result.ok ? 'ok' : result.quotaExceeded ? 'full' : 'error', Date.now(), result.quotaExceeded ? storageFullDetail(result.essentialWrites !== undefined) : result.error);
        // Today's energy as the ledger now holds it.
        if ((result.ok && result.writes > 0) || (result.essentialWrites ?? 0) > 0) {
          void this.history?.refreshToday(historian.meters);
          this.remote?.historyChanged();
        }
      },
    });
    historian.attach(aggregator);
    aggregator.subscribe({
      link: (status, detail) => {
        this.link = status;
        this.linkDetail = detail;
        // With the link gone, the last readings are history, not live power.
        if (status === 'disconnected') for (const [node, tile] of this.meters) this.meters.set(node, { ...tile, silent: true });
        if (!this.#userClosed) this.#alarmMonitor.adapter(status === 'disconnected', Date.now(), detail ? `the adapter is gone (${detail})` : undefined);
      },
      snapshot: (reading) => {
        this.#update(reading);
        this.remote?.snapshot(reading);
      },
      presence: ({ node, silent, missed }) => {
        const tile = this.meters.get(node);
        if (tile && tile.silent !== silent) this.meters.set(node, { ...tile, silent, missed: this.#aggregator?.pollStats(node)?.missed ?? missed });
        this.#alarmMonitor.silent(node, silent, Date.now());
      },
      rejected: ({ node, counts, reason }) => {
        const tile = this.meters.get(node);
        const rejected = counts['bad-mac'] + counts.stale + counts.malformed + counts['unknown-uid'];
        if (tile) this.meters.set(node, { ...tile, rejected });
        this.#alarmMonitor.rejected(node, reason, Date.now());
      },
      unsolicited: (node) => this.#alarmMonitor.unsolicited(node, Date.now()),
      cycle: (timing) => (this.cycle = timing),
    });
    this.#aggregator = aggregator;
    aggregator.start();
    this.#every(FLUSH_MS, () => void historian.flush());
    this.#every(ALARM_TICK_MS, () => this.#alarmMonitor.tick(Date.now()));
    this.#every(PRUNE_MS, () => void historian.prune().catch(() => undefined));
    await yieldToPage();
    if (overtaken()) return; // disconnect() stopped the aggregator and closed the store
    // Loaded once connected: the guard and the planner stay out of the first screen's JavaScript.
    const { EnergyState } = await import('./energy.svelte');
    const energy = await EnergyState.load({ historian, settings, switchRelay: (node, on) => aggregator.setRelay(node, on), registry: () => this.registry, live: () => this.sortedMeters, gridW: () => this.site.grid, intervalMs: () => this.pollIntervalMs, prices: (from, to) => prices.tariffSlots(from, to) });
    if (overtaken()) return;
    this.energy = energy;
    energy.start();
    await yieldToPage();
    if (overtaken()) return;
    // The remote view's settings and, when the user set up a broker, the link to it (mqtt.js loads only then).
    const { RemoteState } = await import('./remote.svelte');
    const remote = new RemoteState({ site: fingerprint, historian, aggregator: () => this.#aggregator, settings: () => settings.value, prices: (from, to) => prices.slots(from, to), today: () => ({ date: prices.todayDate, costs: prices.todayCosts, estimated: prices.todayEstimated }), switchRelay: (node, on) => energy.switchByHand(node, on, energy.config.guard.manualHoldMinutes) });
    await remote.start().catch((error: unknown) => (remote.problem = errorMessage(error)));
    if (overtaken()) {
      await remote.stop();
      return;
    }
    this.remote = remote;
  }

  #every(ms: number, fn: () => void): void {
    this.#timers.push(setInterval(fn, ms));
  }

  /** Writes what is buffered now: the tab is being hidden or closed. */
  flushNow(): void {
    void this.#historian?.flush();
  }

  #withInfo(tile: MeterTileState): MeterTileState {
    const uid = tile.uid ?? this.#historian?.uidOfNode(tile.node);
    const info = uid ? this.#historian?.meter(uid) : undefined;
    return { ...tile, uid, name: info?.name ?? this.#names.get(tile.node)?.name ?? `Meter ${tile.node}`, kind: info?.kind ?? 'load' };
  }

  #update(reading: SnapshotReading): void {
    this.#updateTile(reading);
    const settings = this.settings?.value;
    // Half a site is no alarm: the kettle's reading before the PV's in the first cycle is not an overload.
    const site = this.site;
    if (settings && (site.gridMeasured || this.siteComplete)) this.#alarmMonitor.gridPower(site.grid, settings.contractedPowerW, Date.now());
  }

  #updateTile(reading: SnapshotReading): void {
    const previous = this.meters.get(reading.node);
    const stats = this.#aggregator?.pollStats(reading.node);
    const r = reading.record;
    this.meters.set(
      reading.node,
      this.#withInfo({
        node: reading.node,
        uid: previous?.uid,
        name: previous?.name ?? '',
        kind: previous?.kind ?? 'load',
        watts: r.watts,
        volts: r.volts,
        amps: r.amps,
        relayOn: r.relayOn,
        at: reading.at,
        latencyMs: reading.latencyMs,
        medianLatencyMs: stats?.medianLatencyMs,
        missed: stats?.missed ?? 0,
        silent: false,
        rejected: previous?.rejected ?? 0,
      }),
    );
  }

  #fail(error: unknown): void {
    this.error = errorMessage(error);
    this.link = 'disconnected';
  }

  /**
   * One tab masters the bus (and writes the history); a second tab says so instead of fighting
   * over the adapter and the database. `steal` takes the bus from the other tab.
   */
  async #lock(steal: boolean): Promise<boolean> {
    if (this.#releaseLock) return true;
    const locks = globalThis.navigator?.locks;
    if (!locks) return true;
    return new Promise<boolean>((resolve) => {
      void locks
        .request(LOCK_NAME, steal ? { steal: true } : { ifAvailable: true }, (lock) => {
          if (!lock) {
            this.secondary = true;
            this.error = 'Wattwall is already open in another tab or window, which reads the bus. Use that one, or take over here.';
            resolve(false);
            return undefined;
          }
          resolve(true);
          return new Promise<void>((release) => (this.#releaseLock = release));
        })
        .catch(() => {
          // Stolen by another tab: stop reading the bus here.
          this.#releaseLock = undefined;
          this.secondary = true;
          void this.disconnect();
        });
    });
  }
}
