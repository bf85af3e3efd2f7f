/**
 * The viewer's side of Settings: the broker it reads, the sites announced there (with which of
 * them this browser is paired with), pasting a pairing code. Opening a site is the session's.
 */
import { errorMessage } from '../lib/errors';
import { type BrokerClient, type BrokerStatus, brokerUrl, connectBroker } from '../lib/remote/broker';
import type { SiteAnnouncement } from '../lib/remote/protocol';
import { RemoteViewer } from '../lib/remote/viewer';
import { loadViewerConfig, saveViewerConfig, type ViewerBroker, type ViewerConfig, withPairing } from '../lib/remote/viewer-config';

export class RemoteSitesState {
  config = $state.raw<ViewerConfig>(loadViewerConfig(localStorage));
  sites = $state.raw<readonly SiteAnnouncement[]>([]);
  broker = $state<BrokerStatus | undefined>(undefined);
  problem = $state<string | undefined>(undefined);
  #client: BrokerClient | undefined;
  #viewer: RemoteViewer | undefined;
  /** Counts find() and close() calls: a broker that connects after a newer one is dropped. */
  #generation = 0;

  paired(site: string): boolean {
    return this.config.pairings[site] !== undefined;
  }

  /** Saves the broker and lists the sites announced under its prefix. */
  async find(broker: ViewerBroker): Promise<void> {
    brokerUrl(broker.url);
    const next = { ...this.config, broker };
    saveViewerConfig(localStorage, next);
    this.config = next;
    await this.close();
    this.problem = undefined;
    this.sites = [];
    const generation = this.#generation;
    const client = await connectBroker({
      url: broker.url,
      clientId: `wattwall-sites-${Math.random().toString(36).slice(2, 10)}`,
      ...(broker.username ? { username: broker.username } : {}),
      ...(broker.password ? { password: broker.password } : {}),
    });
    if (generation !== this.#generation) {
      await client.close().catch(() => undefined);
      return;
    }
    this.#client = client;
    client.onStatus((status, detail) => {
      this.broker = status;
      if (detail) this.problem = detail;
    });
    const viewer = new RemoteViewer(client, broker.prefix);
    this.#viewer = viewer;
    viewer.subscribe({ sites: (sites) => (this.sites = [...sites.values()].sort((a, b) => a.name.localeCompare(b.name))), problem: (m) => (this.problem = m) });
    void viewer.listSites().catch((error: unknown) => (this.problem = errorMessage(error)));
  }

  /** Keeps a pairing code; returns the site it pairs with. Throws for a code that is not one. */
  pair(code: string): string {
    const { config, credential } = withPairing(this.config, code);
    saveViewerConfig(localStorage, config);
    this.config = config;
    return credential.site;
  }

  forget(site: string): void {
    const pairings = { ...this.config.pairings };
    delete pairings[site];
    const next = { ...this.config, pairings, viewing: this.config.viewing === site ? undefined : this.config.viewing };
    saveViewerConfig(localStorage, next);
    this.config = next;
  }

  async close(): Promise<void> {
    this.#generation++;
    this.#viewer?.close();
    this.#viewer = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }
}
