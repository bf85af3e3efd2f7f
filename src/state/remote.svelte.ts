/**
 * The site on its MQTT broker, as the settings screen shows it: the broker configuration, the
 * publisher's status, the paired viewers (with each new pairing code shown once). The work is in
 * src/lib/remote; this class starts and stops it with the session.
 */
import type { Aggregator, SnapshotReading } from '../lib/aggregator/aggregator';
import type { Historian } from '../lib/aggregator/historian';
import { errorMessage } from '../lib/errors';
import { connectBroker, brokerUrl } from '../lib/remote/broker';
import { issueViewer, pairingCode } from '../lib/remote/command-auth';
import { topicLevel, Topics } from '../lib/remote/protocol';
import { Publisher, type PublisherStatus } from '../lib/remote/publisher';
import { type BrokerConfig, type PairedViewer, publishedSite, RemoteSiteStore } from '../lib/remote/site-link';
import type { SiteSettings } from '../lib/settings/site-settings';
import type { PriceSlot } from '../lib/tariff/slot';

export interface RemoteParts {
  readonly site: string;
  readonly historian: Historian;
  readonly aggregator: () => Aggregator | undefined;
  readonly settings: () => SiteSettings;
  readonly prices: (from: number, to: number) => Promise<readonly PriceSlot[]>;
  /** Today's cost of each meter, cents (the tiles' figures), for Home Assistant and viewers: the day they are for, and whether fallback prices went in. */
  readonly today: () => { readonly date: string | undefined; readonly costs: ReadonlyMap<string, number>; readonly estimated: boolean };
  readonly switchRelay?: (node: number, on: boolean) => Promise<{ readonly resultName: string }>;
}

export class RemoteState {
  broker = $state.raw<BrokerConfig | undefined>(undefined);
  viewers = $state.raw<readonly PairedViewer[]>([]);
  status = $state.raw<PublisherStatus | undefined>(undefined);
  problem = $state<string | undefined>(undefined);
  readonly #parts: RemoteParts;
  #store: RemoteSiteStore | undefined;
  #publisher: Publisher | undefined;
  #offs: (() => void)[] = [];
  #publishedSettings = '';
  /** Counts stop() calls: a broker that connects after one is closed again, never published to. */
  #generation = 0;

  constructor(parts: RemoteParts) {
    this.#parts = parts;
  }

  async start(): Promise<void> {
    this.#store = await RemoteSiteStore.open(this.#parts.historian);
    this.broker = this.#store.data.broker;
    this.viewers = this.#store.data.viewers;
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#generation++;
    for (const off of this.#offs.splice(0)) off();
    const publisher = this.#publisher;
    this.#publisher = undefined;
    this.status = undefined;
    await publisher?.stop().catch(() => undefined);
  }

  /** Saves the broker settings and connects with them (or disconnects, when disabled). */
  async configure(broker: BrokerConfig): Promise<void> {
    if (broker.enabled) {
      brokerUrl(broker.url);
      broker.prefix.split('/').forEach(topicLevel);
    }
    const store = this.#require();
    await this.stop();
    await store.setBroker(broker);
    this.broker = broker;
    await this.#connect();
  }

  /** Pairs a new viewer; the code is shown once and never stored in the clear anywhere else. */
  async pair(name: string): Promise<string> {
    const store = this.#require();
    const credential = issueViewer(this.#parts.site);
    await store.pair({ ...credential, name: name.trim() || 'viewer', pairedAt: Date.now() });
    this.viewers = store.data.viewers;
    return pairingCode(credential);
  }

  async revoke(viewer: string): Promise<void> {
    const store = this.#require();
    await store.revoke(viewer);
    this.viewers = store.data.viewers;
  }

  /** A verified reading: its live topic (throttled). */
  snapshot(reading: SnapshotReading): void {
    const publisher = this.#publisher;
    const uid = this.#parts.historian.uidOfNode(reading.node);
    if (!publisher || !uid) return;
    const r = reading.record;
    const counted = this.#parts.historian.counted(uid);
    publisher.live(uid, {
      at: reading.at,
      watts: r.watts,
      volts: r.volts,
      amps: r.amps,
      hertz: r.hertz,
      powerFactor: r.powerFactor,
      thdV: r.thdVoltagePercent ?? null,
      thdI: r.thdCurrentPercent ?? null,
      relayOn: r.relayOn,
      silent: false,
      importMwh: counted.importMwh,
      exportMwh: counted.exportMwh,
    });
  }

  /** The history was written: new slots and events go out; changed settings too. */
  historyChanged(): void {
    const publisher = this.#publisher;
    if (!publisher) return;
    const settings = this.#parts.settings();
    const seen = JSON.stringify([settings.contractedPowerW, settings.tariff, settings.pin?.saltHex ?? null]);
    if (seen !== this.#publishedSettings) {
      // The first call only notes them: start() announced them already.
      if (this.#publishedSettings !== '') publisher.metersChanged();
      this.#publishedSettings = seen;
    }
    void publisher.historyChanged();
  }

  /** Today's costs were computed (after a flush, a price update): they go out, under the day they are for. */
  costsChanged(): void {
    const publisher = this.#publisher;
    const { date, costs, estimated } = this.#parts.today();
    if (!publisher || date === undefined) return;
    const currency = this.#parts.settings().tariff.currency;
    for (const [uid, cents] of costs) publisher.cost({ uid, day: date, cents, currency, estimated });
  }

  metersChanged(): void {
    this.#publisher?.metersChanged();
  }

  #require(): RemoteSiteStore {
    if (!this.#store) throw new Error('not connected to a site');
    return this.#store;
  }

  async #connect(): Promise<void> {
    const store = this.#store;
    const broker = store?.data.broker;
    if (!store || !broker?.enabled) return;
    this.problem = undefined;
    const generation = this.#generation;
    try {
      const topics = new Topics(broker.prefix, this.#parts.site);
      const client = await connectBroker({
        url: broker.url,
        clientId: `wattwall-site-${this.#parts.site}-${Math.random().toString(36).slice(2, 8)}`,
        ...(broker.username ? { username: broker.username } : {}),
        ...(broker.password ? { password: broker.password } : {}),
        will: { topic: topics.availability, payload: 'offline', retain: true, qos: 1 },
      });
      if (generation !== this.#generation) {
        await client.close().catch(() => undefined);
        return;
      }
      const publisher = new Publisher(client, publishedSite({ topics, siteName: () => this.broker?.name ?? 'Home', historian: this.#parts.historian, aggregator: this.#parts.aggregator, settings: this.#parts.settings, prices: this.#parts.prices, store, ...(this.#parts.switchRelay ? { switchRelay: this.#parts.switchRelay } : {}) }), {
        homeAssistant: broker.homeAssistantPrefix ? { prefix: broker.homeAssistantPrefix } : false,
      });
      this.#offs.push(publisher.subscribe((status) => (this.status = status)));
      this.#publisher = publisher;
      await publisher.start();
      this.status = publisher.status;
      this.costsChanged(); // the costs computed before the broker link came up
    } catch (error) {
      this.problem = errorMessage(error);
    }
  }
}
