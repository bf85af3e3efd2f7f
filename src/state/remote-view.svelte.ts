/**
 * Viewing another site through its MQTT broker: the broker connection, the viewer, and the
 * replica of the site's history in this browser, put together so the session can hand the
 * screens the same state it hands them for a local bus. Thin: the work is in src/lib/remote.
 */
import type { SvelteMap } from 'svelte/reactivity';
import type { AlarmMonitor } from '../lib/aggregator/alarms';
import { Historian } from '../lib/aggregator/historian';
import type { LinkStatus } from '../lib/can/transport';
import { errorMessage } from '../lib/errors';
import { type BrokerClient, type BrokerStatus, connectBroker } from '../lib/remote/broker';
import { readPairingCode } from '../lib/remote/command-auth';
import { RemoteMirror } from '../lib/remote/mirror';
import type { LiveReading } from '../lib/remote/protocol';
import { RemoteViewer } from '../lib/remote/viewer';
import { loadViewerConfig, saveViewerConfig, storedSeq } from '../lib/remote/viewer-config';
import { readSeries } from '../lib/store/queries';
import { historyDbName, type MeterInfo, openHistory } from '../lib/store/schema';
import { openPriceStore } from '../lib/tariff/price-store';
import { HistoryState } from './history.svelte';
import { PricesState } from './prices.svelte';
import type { MeterTileState } from './session.svelte';
import { SiteSettingsState } from './site-settings.svelte';
import { hostOf } from '../lib/format/url';

/** A live reading older than this says the meter is silent (the site publishes one a second). */
const SILENT_AFTER_MS = 30_000;

export interface RemoteViewHooks {
  readonly tiles: SvelteMap<number, MeterTileState>;
  readonly alarms: AlarmMonitor;
  readonly link: (status: LinkStatus, detail?: string) => void;
  readonly registry: (meters: readonly MeterInfo[]) => void;
}

/** What the screens show of the remote link. */
export class RemoteViewing {
  readonly site: string;
  readonly brokerUrl: string;
  name = $state('');
  broker = $state<BrokerStatus>('connecting');
  online = $state(false);
  /** The site has a PIN: switching asks for it, and the site checks it. */
  pinRequired = $state(false);
  /** The last catch-up: what the site sent that the replica lacked. */
  caughtUp = $state.raw<{ at: number; slots: number; events: number; prices: number } | undefined>(undefined);
  problem = $state<string | undefined>(undefined);
  readonly #command: (uid: string, on: boolean, pin?: string) => Promise<{ ok: boolean; detail: string }>;

  constructor(site: string, brokerUrl: string, command: (uid: string, on: boolean, pin?: string) => Promise<{ ok: boolean; detail: string }>) {
    this.site = site;
    this.brokerUrl = brokerUrl;
    this.#command = command;
  }

  get label(): string {
    return `${this.name || this.site} (remote, via ${hostOf(this.brokerUrl)})`;
  }

  command(uid: string, on: boolean, pin?: string): Promise<{ ok: boolean; detail: string }> {
    return this.#command(uid, on, pin);
  }
}

export interface RemoteView {
  readonly viewing: RemoteViewing;
  readonly history: HistoryState;
  readonly settings: SiteSettingsState;
  readonly prices: PricesState;
  readonly tick: () => void;
  readonly close: () => Promise<void>;
}

/** Opens the site a pairing was made for: the broker, the replica, the live tiles. */
export async function openRemoteView(site: string, hooks: RemoteViewHooks): Promise<RemoteView> {
  const config = loadViewerConfig(localStorage);
  const code = config.pairings[site];
  if (!code) throw new Error(`this browser is not paired with site ${site}: paste its pairing code in Settings, Remote sites`);
  const credential = readPairingCode(code);
  const b = config.broker;
  // Each site's replica in its own databases: sites and this device's own bus never mix.
  const replicaName = `remote-${b.prefix.replaceAll('/', '.')}-${site}`;
  const db = await openHistory(historyDbName(replicaName));
  // What is open so far, closed again if a later step fails (the broker client cannot load offline, say).
  const opened: { prices?: PricesState; client?: BrokerClient } = {};
  const offs: (() => void)[] = [];
  const abandon = async (error: unknown): Promise<never> => {
    for (const off of offs.splice(0)) off();
    await opened.client?.close().catch(() => undefined);
    opened.prices?.stop();
    db.close();
    throw error;
  };
  const historian = await Historian.open(db).catch(abandon);
  const settings = await SiteSettingsState.load(historian).catch(abandon);
  const prices = new PricesState(historian, settings, { openStore: () => openPriceStore(`wattwall-prices-${replicaName}`) });
  opened.prices = prices;
  await prices.start().catch(abandon);
  const client = await connectBroker({
    url: b.url,
    clientId: `wattwall-viewer-${credential.viewer}-${Math.random().toString(36).slice(2, 8)}`,
    ...(b.username ? { username: b.username } : {}),
    ...(b.password ? { password: b.password } : {}),
  }).catch(abandon);
  opened.client = client;
  const viewer = new RemoteViewer(client, b.prefix);
  // Energy and events come from the replica; the charts' readings from the site, asked when shown.
  const history = new HistoryState(historian, replicaName, undefined, (query) => viewer.series(query).catch(() => readSeries(db, query)));
  const viewing = new RemoteViewing(site, b.url, async (uid, on, pin) => {
    const result = await viewer.command({ type: 'relay', uid, on }, pin);
    return { ok: result.ok, detail: result.detail };
  });
  const mirror = new RemoteMirror(historian, viewer, {
    prices: (slots) => prices.adoptSlots(slots),
    settings: (s) => settings.adoptRemote(s),
    problem: (message) => historian.log('warning', 'remote-replica', message),
  });

  const nodeOf = (uid: string) => historian.meter(uid)?.node;
  const setTile = (uid: string, reading: LiveReading, silent: boolean) => {
    const info = historian.meter(uid);
    if (!info) return;
    hooks.tiles.set(info.node, {
      node: info.node,
      uid,
      name: info.name,
      kind: info.kind,
      watts: reading.watts,
      volts: reading.volts,
      amps: reading.amps,
      relayOn: reading.relayOn,
      at: reading.at,
      latencyMs: undefined,
      medianLatencyMs: undefined,
      missed: 0,
      silent,
      rejected: 0,
    });
  };
  const updateLink = () => {
    const connected = viewing.broker === 'connected';
    // A site offline on a reachable broker is still a link: the detail says what is missing.
    const status: LinkStatus = connected ? 'connected' : viewing.broker === 'connecting' || viewing.broker === 'reconnecting' ? 'connecting' : 'disconnected';
    const detail = !connected ? `the broker ${hostOf(b.url)} is not reachable` : !viewing.online ? `${viewing.name || site} is offline on the broker` : undefined;
    hooks.link(status, detail);
    hooks.alarms.remoteSite(detail !== undefined, Date.now(), detail ?? '');
  };

  // One catch-up at a time; asked for again while one runs, it runs once more after.
  let catching: Promise<void> | undefined;
  let again = false;
  const catchUp = (): void => {
    if (catching) {
      again = true;
      return;
    }
    catching = (async () => {
      do {
        again = false;
        try {
          const got = await mirror.catchUp();
          viewing.caughtUp = { at: Date.now(), ...got };
          viewing.problem = undefined;
        } catch (error) {
          viewing.problem = errorMessage(error);
        }
      } while (again);
    })().finally(() => (catching = undefined));
  };

  offs.push(
    historian.subscribe({
      meters: (meters) => hooks.registry(meters),
      flushed: (result) => {
        if (result.ok && result.writes > 0) void history.refreshToday(historian.meters);
      },
    }),
    viewer.subscribe({
      live: (uid, reading) => setTile(uid, reading, reading.silent),
      meters: () => {
        for (const m of viewer.meters) {
          const live = viewer.liveOf(m.uid);
          if (live && nodeOf(m.uid) !== undefined) setTile(m.uid, live, live.silent);
        }
      },
      sites: () => {
        const a = viewer.announcement;
        if (a) {
          viewing.name = a.name;
          viewing.pinRequired = a.pin !== null;
        }
      },
      availability: (online) => {
        const was = viewing.online;
        viewing.online = online;
        updateLink();
        // Back online (or first seen): ask for what the live stream could not bring.
        if (online && !was) catchUp();
      },
      problem: (message) => (viewing.problem = message),
    }),
    client.onStatus((status, detail) => {
      viewing.broker = status;
      if (detail) viewing.problem = detail;
      updateLink();
      if (status === 'connected' && viewing.online) catchUp();
    }),
  );
  await mirror.start().catch(abandon);
  // Subscribing waits for the broker; the screens show the replica meanwhile.
  void viewer.open(site, credential, storedSeq(localStorage, credential.viewer)).catch((error: unknown) => (viewing.problem = errorMessage(error)));
  saveViewerConfig(localStorage, { ...config, viewing: site });
  void history.refreshToday(historian.meters);
  updateLink();

  return {
    viewing,
    history,
    settings,
    prices,
    tick: () => {
      const now = Date.now();
      hooks.alarms.tick(now);
      // A meter whose live reading stopped coming is silent, as on the site's own screen.
      for (const [node, tile] of hooks.tiles) {
        const silent = now - tile.at > SILENT_AFTER_MS;
        if (tile.silent !== silent) hooks.tiles.set(node, { ...tile, silent });
        hooks.alarms.silent(node, silent && viewing.online, now);
      }
    },
    close: async () => {
      for (const off of offs.splice(0)) off();
      mirror.stop();
      viewer.close();
      await client.close().catch(() => undefined);
      await mirror.idle().catch(() => undefined);
      await historian.flush();
      prices.stop();
      history.dispose();
      db.close();
    },
  };
}
