/**
 * The site's remote settings and the adapter that gives the publisher the app's real pieces: the
 * registry and history (historian, IndexedDB), the aggregator's relay commands, the site settings.
 * Paired viewers, their last command seq and the publishing cursor live in the site's history
 * database (settings store), so a backup carries the pairings and a restart resumes publishing.
 */
import type { Aggregator } from '../aggregator/aggregator';
import type { Historian } from '../aggregator/historian';
import { readEvents, readSeries, readSlotEnergy } from '../store/queries';
import type { SiteSettings } from '../settings/site-settings';
import type { PriceSlot } from '../tariff/slot';
import type { ViewerCredential } from './command-auth';
import type { PublishedSite } from './publisher';
import type { RemoteMeterInfo, Topics } from './protocol';

const REMOTE_KEY = 'remote';

export interface PairedViewer extends ViewerCredential {
  readonly name: string;
  readonly pairedAt: number;
}

/** How the site reaches its broker. */
export interface BrokerConfig {
  readonly enabled: boolean;
  /** ws://… or wss://… */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** Topic prefix: sites under one prefix list together. */
  readonly prefix: string;
  /** The site's name on the broker, as viewers see it. */
  readonly name: string;
  /** Home Assistant MQTT discovery under this prefix ("homeassistant"), or off when empty. */
  readonly homeAssistantPrefix: string;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = { enabled: false, url: 'ws://localhost:9001', username: '', password: '', prefix: 'wattwall', name: 'Home', homeAssistantPrefix: 'homeassistant' };

export interface RemoteSiteData {
  readonly broker: BrokerConfig;
  readonly viewers: readonly PairedViewer[];
  readonly lastSeq: Readonly<Record<string, number>>;
  readonly cursor: Readonly<Record<string, number>>;
}

const EMPTY: RemoteSiteData = { broker: DEFAULT_BROKER_CONFIG, viewers: [], lastSeq: {}, cursor: {} };

function valid(data: unknown): RemoteSiteData {
  const d = data as Partial<RemoteSiteData> | undefined;
  if (!d || !Array.isArray(d.viewers) || typeof d.lastSeq !== 'object' || typeof d.cursor !== 'object') return EMPTY;
  const b = { ...DEFAULT_BROKER_CONFIG, ...(typeof d.broker === 'object' && d.broker ? d.broker : {}) };
  return { broker: b, viewers: d.viewers.filter((v) => typeof v?.viewer === 'string' && typeof v.keyHex === 'string'), lastSeq: d.lastSeq ?? {}, cursor: d.cursor ?? {} };
}

/** The site's remote data, kept in memory and written with the historian's next flush. */
export class RemoteSiteStore {
  #data: RemoteSiteData;
  readonly #historian: Historian;

  private constructor(historian: Historian, data: RemoteSiteData) {
    this.#historian = historian;
    this.#data = data;
  }

  static async open(historian: Historian): Promise<RemoteSiteStore> {
    return new RemoteSiteStore(historian, valid(await historian.db.get('settings', REMOTE_KEY)));
  }

  get data(): RemoteSiteData {
    return this.#data;
  }

  async setBroker(broker: BrokerConfig): Promise<void> {
    await this.#write({ ...this.#data, broker });
  }

  viewers(): ReadonlyMap<string, ViewerCredential> {
    return new Map(this.#data.viewers.map((v) => [v.viewer, v]));
  }

  async pair(viewer: PairedViewer): Promise<void> {
    await this.#write({ ...this.#data, viewers: [...this.#data.viewers.filter((v) => v.viewer !== viewer.viewer), viewer] });
  }

  async revoke(viewer: string): Promise<void> {
    await this.#write({ ...this.#data, viewers: this.#data.viewers.filter((v) => v.viewer !== viewer) });
  }

  lastSeq(viewer: string): number {
    return this.#data.lastSeq[viewer] ?? 0;
  }

  /** Recorded at once and flushed: a command's seq must never be accepted twice. */
  acceptSeq(viewer: string, seq: number): void {
    void this.#write({ ...this.#data, lastSeq: { ...this.#data.lastSeq, [viewer]: Math.max(seq, this.lastSeq(viewer)) } });
  }

  cursor(): ReadonlyMap<string, number> {
    return new Map(Object.entries(this.#data.cursor));
  }

  async saveCursor(cursor: ReadonlyMap<string, number>): Promise<void> {
    await this.#write({ ...this.#data, cursor: Object.fromEntries(cursor) });
  }

  async #write(data: RemoteSiteData): Promise<void> {
    this.#data = data;
    this.#historian.putSetting(REMOTE_KEY, data);
    await this.#historian.flush();
  }
}

export interface SiteLinkParts {
  readonly topics: Topics;
  readonly siteName: () => string;
  readonly historian: Historian;
  readonly aggregator: () => Aggregator | undefined;
  readonly settings: () => SiteSettings;
  /** The site's cached spot prices of `[from, to)`. */
  readonly prices: (from: number, to: number) => Promise<readonly PriceSlot[]>;
  readonly store: RemoteSiteStore;
  /** How a remote switch reaches the meter: through the energy manager (as an override) when it runs. */
  readonly switchRelay?: (node: number, on: boolean) => Promise<{ readonly resultName: string }>;
  readonly now?: () => number;
}

/** The publisher's view of a running app. */
export function publishedSite(parts: SiteLinkParts): PublishedSite {
  const { historian, store } = parts;
  const db = historian.db;
  return {
    topics: parts.topics,
    name: parts.siteName,
    meters: (): RemoteMeterInfo[] => historian.meters.map((m) => ({ uid: m.uid, node: m.node, name: m.name, kind: m.kind, priority: m.priority, gridPoint: m.gridPoint })),
    settings: () => {
      const s = parts.settings();
      return { contractedPowerW: s.contractedPowerW, currency: s.tariff.currency, pin: s.pin };
    },
    remoteSettings: () => {
      const s = parts.settings();
      return { contractedPowerW: s.contractedPowerW, tariff: s.tariff };
    },
    readPrices: (from, to) => parts.prices(from, to),
    readSlots: (uids, from, to) => readSlotEnergy(db, uids, from, to),
    readEvents: (from, to, uid) => readEvents(db, from, to, uid),
    readSeries: (p) => readSeries(db, { uid: p.uid, quantity: p.quantity, from: p.from, to: p.to, ...(p.resolution ? { resolution: p.resolution } : {}) }),
    setRelay: async (uid, on) => {
      const aggregator = parts.aggregator();
      const meter = historian.meter(uid);
      if (!aggregator || !meter) return { ok: false, detail: aggregator ? `no meter ${uid} at this site` : 'the site is not connected to its bus' };
      const ack = await (parts.switchRelay ? parts.switchRelay(meter.node, on) : aggregator.setRelay(meter.node, on));
      return ack.resultName === 'ok' ? { ok: true, detail: on ? `${meter.name} switched on` : `${meter.name} switched off` } : { ok: false, detail: `the meter refused: ${ack.resultName}` };
    },
    viewers: () => store.viewers(),
    lastSeq: (viewer) => store.lastSeq(viewer),
    acceptSeq: (viewer, seq) => store.acceptSeq(viewer, seq),
    loadCursor: async () => store.cursor(),
    saveCursor: (cursor) => store.saveCursor(cursor),
    now: parts.now ?? (() => Date.now()),
  };
}
