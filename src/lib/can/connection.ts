/**
 * The adapter the user chose, kept connected: remembered between visits, reopened at start and
 * whenever the browser says it is back (`connect`), with backoff, through getPorts()/getDevices()
 * so that no click is needed. navigator.serial and navigator.usb are injected, so this runs on
 * the emulated adapters in Node and in the end-to-end tests.
 *
 * `AdapterConnection.transport` is one CanTransport for the whole session: it reports each loss
 * as `disconnected` (reason device-lost) and each return as `connecting`, `connected`, but its
 * streams end only when it is closed, so the aggregator above it polls on across a replug.
 * Frames written while the adapter is away are dropped and counted, never queued: a poll from
 * before the unplug is worth nothing after it.
 */
import { errorMessage } from '../errors';
import type { AdapterApis, RememberedAdapter, SerialApi, SerialPortHandle } from './browser-adapters';
import { EventSource } from './event-source';
import { type CanFrame, validated } from './frame';
import { openGsUsbTransport } from './gs-usb/transport';
import { type AdapterKind, kindInfo, knownAdapter, serialFilters, usbFilters } from './registry';
import { openSlcanTransport, type SerialPortLike } from './slcan/serial-transport';
import { AdapterOpenError, type CanTransport, type DisconnectReason, type TransportEvent } from './transport';
import { CdcAcmSerialPort } from './usb/cdc-acm';
import { describeUsbDevice, eventDevice, type UsbApi, type UsbDeviceLike } from './usb/webusb';

// The shell's part, re-exported for the modules that already take it from here.
export { type AdapterApis, browserApis, loadRemembered, REMEMBERED_KEY, type RememberedAdapter, saveRemembered, type SerialApi, type SerialPortHandle } from './browser-adapters';

export type AdapterDevice = SerialPortHandle | UsbDeviceLike;

export interface AdapterOpenOptions {
  readonly bitrate: number;
  readonly listenOnly?: boolean;
  readonly now?: () => number;
  readonly timers?: ConnectionTimers;
}

export interface ConnectionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const defaultTimers: ConnectionTimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** Opens `device` with the driver its kind needs. */
export async function openAdapter(kind: AdapterKind, device: AdapterDevice, options: AdapterOpenOptions): Promise<CanTransport> {
  const common = { bitrate: options.bitrate, listenOnly: options.listenOnly ?? false, ...(options.now ? { now: options.now } : {}), ...(options.timers ? { timers: options.timers } : {}) };
  switch (kind) {
    case 'slcan-serial':
      return openSlcanTransport(device as SerialPortHandle, common);
    case 'slcan-usb':
      return openSlcanTransport(new CdcAcmSerialPort(device as UsbDeviceLike), common);
    case 'gs-usb':
      return openGsUsbTransport(device as UsbDeviceLike, common);
  }
}

function isUsbKind(kind: AdapterKind): kind is 'slcan-usb' | 'gs-usb' {
  return kind !== 'slcan-serial';
}

/** What to remember of a device the user picked. */
export function rememberDevice(kind: AdapterKind, device: AdapterDevice): RememberedAdapter {
  if (isUsbKind(kind)) {
    const usb = device as UsbDeviceLike;
    const serialNumber = usb.serialNumber ?? undefined;
    return { kind, vendorId: usb.vendorId, productId: usb.productId, ...(serialNumber ? { serialNumber } : {}), label: describeUsbDevice(usb) };
  }
  const info = (device as SerialPortHandle).getInfo();
  const known = knownAdapter(info.usbVendorId, info.usbProductId);
  return {
    kind,
    ...(info.usbVendorId !== undefined ? { vendorId: info.usbVendorId } : {}),
    ...(info.usbProductId !== undefined ? { productId: info.usbProductId } : {}),
    label: known?.name ?? 'slcan adapter',
  };
}

/** Whether a device is the remembered one. */
export function isRemembered(target: RememberedAdapter, device: AdapterDevice): boolean {
  if (isUsbKind(target.kind)) {
    const usb = device as UsbDeviceLike;
    if (!('vendorId' in usb)) return false;
    return usb.vendorId === target.vendorId && usb.productId === target.productId && (target.serialNumber === undefined || usb.serialNumber === target.serialNumber);
  }
  const port = device as SerialPortHandle;
  if (typeof port.getInfo !== 'function') return false;
  const info = port.getInfo();
  return info.usbVendorId === target.vendorId && info.usbProductId === target.productId;
}

/** The remembered adapter among the devices the browser already granted, if it is plugged in. */
export async function findGranted(target: RememberedAdapter, apis: AdapterApis): Promise<AdapterDevice | undefined> {
  try {
    const devices: AdapterDevice[] = isUsbKind(target.kind) ? ((await apis.usb?.getDevices()) ?? []) : ((await apis.serial?.getPorts()) ?? []);
    // A granted serial port stays listed while unplugged; `connected` (Chrome 103+) says whether it is there.
    return devices.find((d) => isRemembered(target, d) && (d as { connected?: boolean }).connected !== false);
  } catch {
    return undefined;
  }
}

/**
 * An adapter the browser granted on an earlier visit when nothing is remembered (an older version
 * of the app remembered nothing but Chrome's permission): the first known slcan port, else the
 * first known USB adapter.
 */
export async function anyGrantedAdapter(apis: AdapterApis): Promise<{ kind: AdapterKind; device: AdapterDevice } | undefined> {
  try {
    for (const port of (await apis.serial?.getPorts()) ?? []) {
      const info = port.getInfo();
      if ((port as { connected?: boolean }).connected !== false && knownAdapter(info.usbVendorId, info.usbProductId)?.kinds.includes('slcan-serial')) return { kind: 'slcan-serial', device: port };
    }
    for (const device of (await apis.usb?.getDevices()) ?? []) {
      const known = knownAdapter(device.vendorId, device.productId);
      if (known?.driver === 'gs_usb') return { kind: 'gs-usb', device };
      if (known?.kinds.includes('slcan-usb')) return { kind: 'slcan-usb', device };
    }
  } catch {
    // an API that fails to list is as good as none
  }
  return undefined;
}

export interface PickOptions {
  /** List every serial port or USB device, not only the known adapters (for clones with other ids). */
  readonly anyDevice?: boolean;
}

/** Opens the browser's picker (needs a user gesture); undefined when the user cancels. */
export async function pickDevice(kind: AdapterKind, apis: AdapterApis, options: PickOptions = {}): Promise<AdapterDevice | undefined> {
  try {
    if (isUsbKind(kind)) {
      if (!apis.usb) throw new AdapterOpenError(`${kindInfo(kind).title} needs WebUSB, which this browser does not have.`);
      return await apis.usb.requestDevice({ filters: options.anyDevice ? [] : usbFilters(kind) });
    }
    if (!apis.serial) throw new AdapterOpenError(`${kindInfo(kind).title} needs Web Serial, which this browser does not have.`);
    return await apis.serial.requestPort(options.anyDevice ? {} : { filters: serialFilters() });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}

export type ConnectionPhase =
  /** Opening the device. */
  | 'connecting'
  | 'connected'
  /** The device is not plugged in: it connects when the browser reports it back. */
  | 'waiting'
  /** The device is there but would not open; another attempt follows. */
  | 'retrying'
  | 'closed';

export interface ConnectionState {
  readonly phase: ConnectionPhase;
  /** Attempts since the last successful open. */
  readonly attempt: number;
  /** Why the last attempt failed, for the person at the screen. */
  readonly detail?: string;
  readonly label: string;
}

export interface AdapterConnectionOptions extends AdapterOpenOptions {
  /** Delays between attempts while the device is present but will not open, ms; the last repeats. */
  readonly retryDelaysMs?: readonly number[];
  /** Wait after a `connect` event before opening (a fresh device may refuse for a moment), ms. */
  readonly connectDelayMs?: number;
  /** Applied to each driver's transport as it opens (the bus monitor's tee goes here). */
  readonly wrap?: (transport: CanTransport) => CanTransport;
  /** The opener, replaceable for tests of the connection logic alone. */
  readonly open?: (kind: AdapterKind, device: AdapterDevice, options: AdapterOpenOptions) => Promise<CanTransport>;
}

const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 5000];

export class AdapterConnection {
  readonly target: RememberedAdapter;
  readonly transport: CanTransport;
  readonly #apis: AdapterApis;
  readonly #options: AdapterConnectionOptions;
  readonly #timers: ConnectionTimers;
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  readonly #facade: ReconnectingTransport;
  #state: ConnectionState;
  #inner: CanTransport | undefined;
  #timer: unknown;
  #attempting = false;
  /** A `connect` came while an attempt was under way: try again at once if it fails. */
  #connectSeen = false;
  #onConnect = (event: Event) => this.#connected(event);

  constructor(target: RememberedAdapter, apis: AdapterApis, options: AdapterConnectionOptions) {
    this.target = target;
    this.#apis = apis;
    this.#options = options;
    this.#timers = options.timers ?? defaultTimers;
    this.#state = { phase: 'connecting', attempt: 0, label: target.label };
    this.#facade = new ReconnectingTransport(target.label, () => this.close());
    this.transport = this.#facade;
    this.#eventSource()?.addEventListener('connect', this.#onConnect);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  onChange(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** First attempt; resolves true once connected, false if the adapter is absent or would not open (attempts go on). */
  async start(device?: AdapterDevice): Promise<boolean> {
    await this.#attempt(device);
    return this.#state.phase === 'connected';
  }

  async close(): Promise<void> {
    if (this.#state.phase === 'closed') return;
    this.#set({ phase: 'closed' });
    this.#eventSource()?.removeEventListener('connect', this.#onConnect);
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const inner = this.#inner;
    this.#inner = undefined;
    this.#facade.detach();
    await inner?.close();
    this.#facade.finish();
  }

  #eventSource(): SerialApi | UsbApi | undefined {
    return isUsbKind(this.target.kind) ? this.#apis.usb : this.#apis.serial;
  }

  #connected(event: Event): void {
    const device = isUsbKind(this.target.kind) ? eventDevice(event) : ((event as Event & { port?: unknown }).port ?? event.target);
    if (!device || !isRemembered(this.target, device as AdapterDevice)) return;
    if (this.#attempting) this.#connectSeen = true;
    if (this.#state.phase !== 'waiting' && this.#state.phase !== 'retrying') return;
    this.#schedule(this.#options.connectDelayMs ?? 100, device as AdapterDevice);
  }

  #schedule(delayMs: number, device?: AdapterDevice): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#attempt(device);
    }, delayMs);
  }

  async #attempt(given?: AdapterDevice): Promise<void> {
    if (this.#attempting || this.#isClosed() || this.#state.phase === 'connected') return;
    this.#attempting = true;
    try {
      const device = given ?? (await findGranted(this.target, this.#apis));
      if (this.#isClosed()) return;
      if (!device) {
        this.#set({ phase: 'waiting', detail: 'the adapter is not plugged in; it connects as soon as it is' });
        this.#facade.status({ type: 'status', status: 'disconnected', reason: 'device-lost', detail: 'waiting for the adapter' });
        return;
      }
      this.#set({ phase: 'connecting', attempt: this.#state.attempt + 1 });
      this.#facade.status({ type: 'status', status: 'connecting' });
      const open = this.#options.open ?? openAdapter;
      let inner: CanTransport;
      try {
        inner = await open(this.target.kind, device, this.#options);
        if (this.#options.wrap) inner = this.#options.wrap(inner);
      } catch (error) {
        if (this.#isClosed()) return;
        const detail = error instanceof AdapterOpenError ? error.userMessage : errorMessage(error);
        const delays = this.#options.retryDelaysMs ?? RETRY_DELAYS_MS;
        const delay = this.#connectSeen ? (this.#options.connectDelayMs ?? 100) : (delays[Math.min(this.#state.attempt - 1, delays.length - 1)] ?? 1000);
        this.#connectSeen = false;
        this.#set({ phase: 'retrying', detail });
        this.#facade.status({ type: 'status', status: 'disconnected', reason: 'device-lost', detail });
        // Retry by looking the device up afresh: after a replug the old handle is dead.
        this.#schedule(delay);
        return;
      }
      if (this.#isClosed()) {
        await inner.close();
        return;
      }
      this.#inner = inner;
      this.#connectSeen = false;
      this.#set({ phase: 'connected', attempt: 0, label: inner.label });
      this.#facade.attach(inner, (detail) => this.#lost(inner, detail));
    } finally {
      this.#attempting = false;
    }
  }

  #isClosed(): boolean {
    return this.#state.phase === 'closed';
  }

  /** The driver reported the adapter gone (or a fatal read or write error). */
  #lost(inner: CanTransport, detail: string | undefined): void {
    if (this.#inner !== inner || this.#state.phase === 'closed') return;
    this.#inner = undefined;
    this.#set({ phase: 'waiting', detail: detail ?? 'the adapter went away' });
    // A read error may leave the device plugged in: look again soon; an unplugged one comes back by `connect`.
    this.#schedule((this.#options.retryDelaysMs ?? RETRY_DELAYS_MS)[0] ?? 250);
  }

  /** A new state; `detail` only stays if the change gives one. */
  #set(change: Partial<ConnectionState>): void {
    const { detail: _old, ...rest } = this.#state;
    this.#state = change.detail === undefined ? { ...rest, ...change, detail: undefined } : { ...rest, ...change };
    if (this.#state.detail === undefined) delete (this.#state as { detail?: string }).detail;
    for (const listener of this.#listeners) listener(this.#state);
  }
}

/**
 * The persistent face of an AdapterConnection: events of whichever driver is attached, the
 * connection's own status in between, and a toBus that never errors while the session lives.
 */
class ReconnectingTransport implements CanTransport {
  readonly fromBus: ReadableStream<TransportEvent>;
  readonly toBus: WritableStream<CanFrame>;
  #label: string;
  readonly #events: EventSource<TransportEvent>;
  #toBusController!: WritableStreamDefaultController;
  #inner: CanTransport | undefined;
  #writer: WritableStreamDefaultWriter<CanFrame> | undefined;
  #pump: Promise<void> = Promise.resolve();
  #dropped = 0;
  #finished = false;
  readonly #close: () => Promise<void>;

  constructor(label: string, close: () => Promise<void>) {
    this.#label = label;
    this.#close = close;
    this.#events = new EventSource<TransportEvent>(() => this.#close());
    this.fromBus = this.#events.stream;
    this.toBus = new WritableStream<CanFrame>({
      start: (controller) => {
        this.#toBusController = controller;
      },
      write: (frame) => this.#write(frame),
    });
  }

  get label(): string {
    return this.#label;
  }

  close(): Promise<void> {
    return this.#close();
  }

  status(event: TransportEvent): void {
    this.#emit(event);
  }

  attach(inner: CanTransport, lost: (detail: string | undefined) => void): void {
    this.#inner = inner;
    this.#label = inner.label;
    this.#writer = inner.toBus.getWriter();
    if (this.#dropped > 0) {
      this.#emit({ type: 'warning', message: `${this.#dropped} frame${this.#dropped === 1 ? ' was' : 's were'} not sent while the adapter was away` });
      this.#dropped = 0;
    }
    this.#pump = (async () => {
      let ending: { reason: DisconnectReason; detail?: string } | undefined;
      try {
        for await (const event of inner.fromBus) {
          if (event.type === 'status') {
            if (event.status === 'disconnected') ending = { reason: event.reason ?? 'device-lost', ...(event.detail ? { detail: event.detail } : {}) };
            else this.#emit(event);
            continue;
          }
          this.#emit(event);
          await this.#events.room();
        }
      } catch (error) {
        ending = { reason: 'read-error', detail: errorMessage(error) };
      }
      if (this.#inner !== inner) return;
      this.#inner = undefined;
      this.#writer?.releaseLock();
      this.#writer = undefined;
      const reason = ending?.reason ?? 'device-lost';
      const detail = ending?.detail;
      this.#emit({ type: 'status', status: 'disconnected', reason, detail: `${detail ?? 'the adapter went away'}; reconnecting when it is back` });
      lost(detail);
    })();
  }

  /** Stops forwarding from the current driver, which is about to be closed by the user. */
  detach(): void {
    this.#events.unblock();
    this.#inner = undefined;
    this.#writer?.releaseLock();
    this.#writer = undefined;
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#emit({ type: 'status', status: 'disconnected', reason: 'user' });
    this.#events.close();
    this.#toBusController.error(new Error('adapter disconnected'));
  }

  async #write(frame: CanFrame): Promise<void> {
    if (this.#finished) throw new Error('adapter disconnected');
    validated(frame);
    const writer = this.#writer;
    if (!writer) {
      if (this.#dropped++ === 0) this.#emit({ type: 'warning', message: 'frames are not sent while the adapter is away' });
      return;
    }
    try {
      await writer.write(frame);
    } catch {
      // The driver went away under this write; it reports the loss itself.
      this.#dropped++;
    }
  }

  #emit(event: TransportEvent): void {
    if (this.#finished && !(event.type === 'status' && event.reason === 'user')) return;
    this.#events.emit(event);
  }
}

