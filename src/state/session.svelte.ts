/**
 * What the screens know about the bus: link state and the latest verified reading of every meter.
 * Thin: connecting, polling, verifying and decoding live in src/lib.
 */
import { SvelteMap } from 'svelte/reactivity';
import { Aggregator, type SnapshotReading } from '../lib/aggregator/aggregator';
import { loadOrCreateSiteKey, persistentSite } from '../lib/aggregator/site';
import type { CanTransport, LinkStatus } from '../lib/can/transport';
import { errorMessage } from '../lib/errors';
import { DEMO_SITE_KEY } from '../lib/meter/keys';
import { AdapterState } from './adapter.svelte';

export type SourceKind = 'demo' | 'adapter';

export interface MeterTileState {
  readonly node: number;
  readonly name: string;
  readonly watts: number;
  readonly volts: number;
  readonly relayOn: boolean;
  readonly at: number;
  readonly latencyMs: number | undefined;
  readonly silent: boolean;
  /** Records from this meter that failed verification. */
  readonly rejected: number;
}

export class BusSession {
  link = $state<LinkStatus>('disconnected');
  linkDetail = $state<string | undefined>(undefined);
  source = $state<SourceKind | undefined>(undefined);
  adapterLabel = $state('');
  error = $state<string | undefined>(undefined);
  bitrate = $state(125_000);
  readonly meters = new SvelteMap<number, MeterTileState>();
  /** The USB adapter: picking, reconnecting, the bus monitor. Its transports arrive through onTransport. */
  readonly adapter = new AdapterState({ bitrate: () => this.bitrate });

  #aggregator: Aggregator | undefined;
  #names = new Map<number, string>();
  #stopDemo: (() => void) | undefined;

  constructor() {
    this.adapter.onTransport((transport) => void this.#useAdapter(transport));
  }

  get sortedMeters(): MeterTileState[] {
    return [...this.meters.values()].sort((a, b) => a.node - b.node);
  }

  /** At start: the adapter the user chose before, if it is plugged in; otherwise the demo bus. */
  async start(): Promise<void> {
    if (await this.adapter.resume().catch(() => false)) return;
    if (!this.#aggregator) await this.connectDemo();
  }

  /** The simulated household: the app's default when no adapter is connected. */
  async connectDemo(): Promise<void> {
    await this.disconnect();
    this.error = undefined;
    try {
      const [{ DemoBus }, { demoHouse }, { loadMeterCore }, { keyValueNvStore }] = await Promise.all([
        import('../lib/sim/demo-bus'),
        import('../lib/sim/scenarios'),
        import('../lib/sim/load-core'),
        import('../lib/sim/simulated-meter'),
      ]);
      const now = new Date();
      const scenario = demoHouse(now.getHours() + now.getMinutes() / 60);
      const demo = new DemoBus({
        module: await loadMeterCore(),
        scenario,
        bitrate: this.bitrate,
        siteKey: DEMO_SITE_KEY,
        // The demo meters keep their flash across reloads, as real ones do across power cuts.
        nvStore: keyValueNvStore(localStorage, 'wattwall.demo.meter-nv'),
      });
      demo.start();
      const transport = await this.adapter.openDemo(demo.port, 'Demo bus (simulated meters)');
      // The remembered adapter was plugged in while the demo loaded: it has the bus now.
      if (this.#aggregator) {
        demo.stop();
        await transport.close();
        return;
      }
      this.#stopDemo = () => demo.stop();
      this.#names = new Map(scenario.meters.map((m) => [m.nodeId, m.name]));
      await this.#attach(transport, 'demo', DEMO_SITE_KEY);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** An adapter transport from AdapterState (picked, or plugged back in): it replaces whatever runs. */
  async #useAdapter(transport: CanTransport): Promise<void> {
    await this.disconnect();
    this.error = undefined;
    this.#names = new Map();
    try {
      await this.#attach(transport, 'adapter', loadOrCreateSiteKey(localStorage));
    } catch (error) {
      this.#fail(error);
    }
  }

  async disconnect(): Promise<void> {
    const aggregator = this.#aggregator;
    this.#aggregator = undefined;
    await aggregator?.stop();
    this.#stopDemo?.();
    this.#stopDemo = undefined;
    this.meters.clear();
    this.source = undefined;
  }

  async #attach(transport: CanTransport, source: SourceKind, siteKey: Uint8Array): Promise<void> {
    this.source = source;
    this.adapterLabel = transport.label;
    const site = await persistentSite(siteKey, localStorage);
    const aggregator = new Aggregator(transport, site);
    aggregator.subscribe({
      link: (status, detail) => {
        this.link = status;
        this.linkDetail = detail;
        // With the link gone, the last readings are history, not live power.
        if (status === 'disconnected') for (const [node, tile] of this.meters) this.meters.set(node, { ...tile, silent: true });
      },
      snapshot: (reading) => this.#update(reading),
      presence: ({ node, silent }) => {
        const tile = this.meters.get(node);
        if (tile && tile.silent !== silent) this.meters.set(node, { ...tile, silent });
      },
      rejected: ({ node, counts }) => {
        const tile = this.meters.get(node);
        const rejected = counts['bad-mac'] + counts.stale + counts.malformed + counts['unknown-uid'];
        if (tile) this.meters.set(node, { ...tile, rejected });
      },
    });
    this.#aggregator = aggregator;
    aggregator.start();
  }

  #update(reading: SnapshotReading): void {
    const previous = this.meters.get(reading.node);
    this.meters.set(reading.node, {
      node: reading.node,
      name: this.#names.get(reading.node) ?? `Meter ${reading.node}`,
      watts: reading.record.watts,
      volts: reading.record.volts,
      relayOn: reading.record.relayOn,
      at: reading.at,
      latencyMs: reading.latencyMs,
      silent: false,
      rejected: previous?.rejected ?? 0,
    });
  }

  #fail(error: unknown): void {
    this.error = errorMessage(error);
    this.link = 'disconnected';
  }
}
