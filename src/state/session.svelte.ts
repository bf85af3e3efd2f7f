/**
 * What the screens know about the bus: link state and the latest reading of every meter.
 * Thin: connecting, polling and decoding live in src/lib.
 */
import { SvelteMap } from 'svelte/reactivity';
import { errorMessage } from '../lib/errors';
import { Aggregator, type MeterReading } from '../lib/aggregator/aggregator';
import type { LinkStatus } from '../lib/can/transport';
import { openSlcanTransport, type SerialPortLike } from '../lib/can/slcan/serial-transport';
import { grantedSlcanPorts, pickSlcanPort, webSerial } from '../lib/can/slcan/web-serial';

export type SourceKind = 'demo' | 'serial';

export interface MeterTileState {
  readonly node: number;
  readonly name: string;
  readonly watts: number;
  readonly at: number;
  readonly latencyMs: number;
  readonly silent: boolean;
}

export class BusSession {
  link = $state<LinkStatus>('disconnected');
  linkDetail = $state<string | undefined>(undefined);
  source = $state<SourceKind | undefined>(undefined);
  adapterLabel = $state('');
  error = $state<string | undefined>(undefined);
  bitrate = $state(125_000);
  readonly meters = new SvelteMap<number, MeterTileState>();

  #aggregator: Aggregator | undefined;
  #names = new Map<number, string>();
  #stopDemo: (() => void) | undefined;

  get webSerialSupported(): boolean {
    return webSerial() !== undefined;
  }

  get sortedMeters(): MeterTileState[] {
    return [...this.meters.values()].sort((a, b) => a.node - b.node);
  }

  /** At start: an adapter the user chose before, if it is plugged in; otherwise the demo bus. */
  async start(): Promise<void> {
    const serial = webSerial();
    const [port] = serial ? await grantedSlcanPorts(serial).catch(() => []) : [];
    if (port) {
      try {
        await this.#attach(port, 'serial', 'USB adapter (slcan)');
        return;
      } catch (error) {
        this.#fail(error);
      }
    }
    await this.connectDemo();
  }

  /** The simulated household: the app's default when no adapter is connected. */
  async connectDemo(): Promise<void> {
    await this.disconnect();
    this.error = undefined;
    try {
      const [{ DemoBus }, { demoHouse }, { loadMeterCore }] = await Promise.all([
        import('../lib/sim/demo-bus'),
        import('../lib/sim/scenarios'),
        import('../lib/sim/load-core'),
      ]);
      const now = new Date();
      const scenario = demoHouse(now.getHours() + now.getMinutes() / 60);
      const demo = new DemoBus({ module: await loadMeterCore(), scenario, bitrate: this.bitrate });
      demo.start();
      this.#stopDemo = () => demo.stop();
      this.#names = new Map(scenario.meters.map((m) => [m.nodeId, m.name]));
      await this.#attach(demo.port, 'demo', 'Demo bus (simulated meters)');
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Asks the browser for an slcan adapter (user gesture required) and opens it. */
  async connectSerial(): Promise<void> {
    const serial = webSerial();
    if (!serial) {
      this.error = 'This browser has no Web Serial. Use Chrome or Edge on a computer, or the demo bus.';
      return;
    }
    this.error = undefined;
    try {
      const port = await pickSlcanPort(serial);
      if (!port) return;
      await this.disconnect();
      this.#names = new Map();
      await this.#attach(port, 'serial', 'USB adapter (slcan)');
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

  async #attach(port: SerialPortLike, source: SourceKind, label: string): Promise<void> {
    this.source = source;
    this.adapterLabel = label;
    const transport = await openSlcanTransport(port, { bitrate: this.bitrate, label });
    const aggregator = new Aggregator(transport);
    aggregator.subscribe({
      link: (status, detail) => {
        this.link = status;
        this.linkDetail = detail;
        // With the link gone, the last readings are history, not live power.
        if (status === 'disconnected') for (const [node, tile] of this.meters) this.meters.set(node, { ...tile, silent: true });
      },
      reading: (reading) => this.#update(reading),
      presence: ({ node, silent }) => {
        const tile = this.meters.get(node);
        if (tile && tile.silent !== silent) this.meters.set(node, { ...tile, silent });
      },
    });
    this.#aggregator = aggregator;
    aggregator.start();
  }

  #update(reading: MeterReading): void {
    this.meters.set(reading.node, {
      node: reading.node,
      name: this.#names.get(reading.node) ?? `Meter ${reading.node}`,
      watts: reading.watts,
      at: reading.at,
      latencyMs: reading.latencyMs,
      silent: false,
    });
  }

  #fail(error: unknown): void {
    this.error = errorMessage(error);
    this.link = 'disconnected';
  }
}
