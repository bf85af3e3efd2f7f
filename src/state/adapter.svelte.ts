/**
 * The USB-CAN adapter, as the screens see it: which kinds this browser can reach and why not,
 * the remembered adapter, the link state (connecting, connected, waiting for a replug, retrying),
 * and the actions: pick, reconnect, disconnect, forget. The connection logic is in
 * src/lib/can/connection.ts; every transport handed out goes past the bus monitor.
 *
 * Transports reach the session through `onTransport`, whether the user just picked the adapter or
 * the remembered one was plugged in while the demo bus ran. The drivers and the bus monitor load
 * with the first connection (adapter-drivers.ts): the first screen needs only the state here.
 */
import { type AdapterApis, browserApis, loadRemembered, type RememberedAdapter, saveRemembered } from '../lib/can/browser-adapters';
import type { AdapterConnection, AdapterDevice, ConnectionPhase } from '../lib/can/connection';
import { ADAPTER_KINDS, type AdapterKind, type AdapterKindInfo, browserSupport, type BrowserSupport, kindInfo } from '../lib/can/registry';
import type { SerialPortLike } from '../lib/can/slcan/serial-transport';
import { AdapterOpenError, type CanTransport } from '../lib/can/transport';
import { errorMessage } from '../lib/errors';
import type { BusMonitorState } from './bus-monitor.svelte';

type Drivers = typeof import('./adapter-drivers');
interface Loaded {
  readonly drivers: Drivers;
  readonly monitor: BusMonitorState;
}

export type AdapterLink = ConnectionPhase | 'idle';

export interface OfferedKind extends AdapterKindInfo {
  readonly available: boolean;
  /** Why it is not, in plain words. */
  readonly unavailableBecause?: string;
}

interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface AdapterStateOptions {
  readonly bitrate: () => number;
  readonly apis?: AdapterApis;
  readonly storage?: Storage;
  readonly secureContext?: boolean;
  readonly navigator?: Navigator;
}

export class AdapterState {
  /** What the real adapter is doing; 'idle' when none is in use. */
  link = $state<AdapterLink>('idle');
  kind = $state<AdapterKind | undefined>(undefined);
  label = $state('');
  detail = $state<string | undefined>(undefined);
  attempt = $state(0);
  error = $state<string | undefined>(undefined);
  remembered = $state<RememberedAdapter | undefined>(undefined);
  pickerOpen = $state(false);
  listenOnly = $state(false);

  /** The bus monitor, once the drivers have loaded (loadMonitor() loads them). */
  monitor = $state.raw<BusMonitorState | undefined>(undefined);

  readonly support: BrowserSupport;
  readonly kinds: readonly OfferedKind[];

  readonly #apis: AdapterApis;
  readonly #storage: Storage | undefined;
  readonly #bitrate: () => number;
  readonly #listeners = new Set<(transport: CanTransport) => void>();
  #connection: AdapterConnection | undefined;
  /** The transport of the current connection went to the session. */
  #handedOver = false;
  #loaded: Promise<Loaded> | undefined;

  constructor(options: AdapterStateOptions) {
    const nav = options.navigator ?? globalThis.navigator;
    this.#apis = options.apis ?? browserApis(nav);
    this.#storage = options.storage ?? (typeof localStorage === 'undefined' ? undefined : localStorage);
    this.#bitrate = options.bitrate;
    this.support = options.apis
      ? { serial: !!options.apis.serial, usb: !!options.apis.usb, gap: undefined, explanation: undefined }
      : browserSupport(nav, options.secureContext ?? (typeof isSecureContext === 'boolean' ? isSecureContext : true));
    this.kinds = ADAPTER_KINDS.map((k) => {
      const available = k.api === 'serial' ? this.support.serial : this.support.usb;
      return available ? { ...k, available } : { ...k, available, unavailableBecause: k.api === 'serial' ? 'This browser has no Web Serial.' : 'This browser has no WebUSB.' };
    });
    this.remembered = this.#storage ? loadRemembered(this.#storage) : undefined;
  }

  /** The bus monitor (it records every frame of every connection from the first one on). */
  async loadMonitor(): Promise<BusMonitorState> {
    return (await this.#load()).monitor;
  }

  #load(): Promise<Loaded> {
    if (!this.#loaded) {
      const loading = import('./adapter-drivers').then((drivers) => {
        const monitor = new drivers.BusMonitorState({ bitrate: this.#bitrate() });
        this.monitor = monitor;
        return { drivers, monitor };
      });
      // A failed load (offline, a new version deployed) may succeed next time.
      loading.catch(() => (this.#loaded = undefined));
      this.#loaded = loading;
    }
    return this.#loaded;
  }

  get anyKindAvailable(): boolean {
    return this.support.serial || this.support.usb;
  }

  /** A real adapter is in use (whatever its link state). */
  get active(): boolean {
    return this.#connection !== undefined && this.#handedOver;
  }

  /** Receives each adapter transport as it becomes ready for the session. */
  onTransport(listener: (transport: CanTransport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * At start: reopens the remembered adapter without a click. True if it connected now (the
   * transport went to onTransport); false if there is none or it is absent, in which case it is
   * watched for and handed over the moment it is plugged in.
   */
  async resume(): Promise<boolean> {
    let target = this.remembered;
    let device: AdapterDevice | undefined;
    // Nothing granted and nothing remembered: no driver is needed yet.
    if (!target && !(await this.#anyGranted())) return false;
    const loaded = await this.#load();
    const { drivers } = loaded;
    if (!target) {
      const granted = await drivers.anyGrantedAdapter(this.#apis);
      if (!granted) return false;
      target = drivers.rememberDevice(granted.kind, granted.device);
      device = granted.device;
      this.remembered = target;
      if (this.#storage) saveRemembered(this.#storage, target);
    }
    if (!this.#reachable(target.kind)) return false;
    const connection = this.#connect(loaded, target);
    const connected = await connection.start(device);
    if (connected) this.#handOver(connection);
    return connected;
  }

  /** Whether the browser has granted this site any port or device at all (no driver needed to ask). */
  async #anyGranted(): Promise<boolean> {
    const [ports, devices] = await Promise.all([this.#apis.serial?.getPorts() ?? [], this.#apis.usb?.getDevices() ?? []]);
    return ports.length > 0 || devices.length > 0;
  }

  /** Asks the browser for an adapter of `kind` (needs a user gesture), remembers and connects it. */
  async pick(kind: AdapterKind, options: { anyDevice?: boolean } = {}): Promise<boolean> {
    this.error = undefined;
    if (!this.#reachable(kind)) {
      this.error = this.kinds.find((k) => k.kind === kind)?.unavailableBecause ?? 'This browser cannot reach that adapter.';
      return false;
    }
    let device;
    let loaded;
    try {
      loaded = await this.#load();
      device = await loaded.drivers.pickDevice(kind, this.#apis, options);
    } catch (error) {
      this.error = error instanceof AdapterOpenError ? error.userMessage : errorMessage(error);
      return false;
    }
    if (!device) return false; // the user closed the picker
    this.pickerOpen = false;
    await this.release();
    const target = loaded.drivers.rememberDevice(kind, device);
    this.remembered = target;
    if (this.#storage) saveRemembered(this.#storage, target);
    const connection = this.#connect(loaded, target);
    const connected = await connection.start(device);
    if (!connected) this.error = connection.state.detail ? `${kindInfo(kind).title}: ${connection.state.detail}` : undefined;
    // Handed over even when it did not open yet: the session shows it retrying, and it connects when it can.
    this.#handOver(connection);
    return connected;
  }

  /** Tries the remembered adapter again now (after the user fixed what kept it from opening). */
  async reconnect(): Promise<boolean> {
    await this.release();
    const target = this.remembered;
    if (!target) return false;
    const connection = this.#connect(await this.#load(), target);
    const connected = await connection.start();
    this.#handOver(connection);
    return connected;
  }

  /** Stops using the adapter (it stays remembered and reconnects on the next visit). */
  async release(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#handedOver = false;
    await connection?.close();
    this.link = 'idle';
    this.detail = undefined;
  }

  /** Stops using the adapter and forgets it. */
  async forget(): Promise<void> {
    await this.release();
    this.remembered = undefined;
    if (this.#storage) saveRemembered(this.#storage, undefined);
    this.label = '';
    this.kind = undefined;
  }

  /** The demo bus's emulated adapter, opened with the real slcan driver and shown in the monitor. */
  async openDemo(port: SerialPortLike, label: string): Promise<CanTransport> {
    const { drivers, monitor } = await this.#load();
    monitor.bitrate = this.#bitrate();
    const transport = await drivers.openSlcanTransport(port, { bitrate: this.#bitrate(), label });
    return monitor.tee(transport);
  }

  #reachable(kind: AdapterKind): boolean {
    return kindInfo(kind).api === 'serial' ? this.support.serial : this.support.usb;
  }

  #connect({ drivers, monitor }: Loaded, target: RememberedAdapter): AdapterConnection {
    monitor.bitrate = this.#bitrate();
    const connection = new drivers.AdapterConnection(target, this.#apis, {
      bitrate: this.#bitrate(),
      listenOnly: this.listenOnly,
      wrap: (transport) => monitor.tee(transport),
    });
    this.#connection = connection;
    this.#handedOver = false;
    this.kind = target.kind;
    this.label = target.label;
    connection.onChange((state) => {
      if (this.#connection !== connection) return;
      this.link = state.phase === 'closed' ? 'idle' : state.phase;
      this.detail = state.detail;
      this.attempt = state.attempt;
      this.label = state.label;
      if (state.phase === 'closed') {
        this.#connection = undefined;
        this.#handedOver = false;
      }
      // The remembered adapter came back while the demo bus ran: switch to it, no click needed.
      if (state.phase === 'connected' && !this.#handedOver) this.#handOver(connection);
    });
    return connection;
  }

  #handOver(connection: AdapterConnection): void {
    if (this.#connection !== connection || this.#handedOver) return;
    this.#handedOver = true;
    for (const listener of this.#listeners) listener(connection.transport);
  }
}
