/**
 * gs_usb over WebUSB: candleLight, CANable with candleLight firmware, and the other devices Linux's
 * gs_usb driver binds (registry.ts). The sequence is Linux's: HOST_FORMAT, DEVICE_CONFIG,
 * BT_CONST, BITTIMING computed from the device's clock and limits, MODE START with the flags the
 * device offers (hardware timestamps, bus-error reporting, host-driven bus-off recovery); frames
 * are read with several IN transfers outstanding, written with at most ten in flight and matched
 * to their echoes; error frames become bus-state and bus-error events; on close the channel is
 * stopped and drained before the interface is released (halted transfers on macOS otherwise need
 * a power cycle, ieb/candleLightJS).
 */
import { errorMessage } from '../../errors';
import { DeviceClock } from '../device-clock';
import { EventSource } from '../event-source';
import { type CanFrame, formatFrame, validated } from '../frame';
import { AdapterOpenError, type BusState, type CanTransport, type DisconnectReason, type TransportEvent } from '../transport';
import { bytesOf, claim, describeUsbDevice, findEndpoint, findInterface, isAborted, isDeviceLost, openDevice, type UsbDeviceLike, type UsbEndpointLike } from '../usb/webusb';
import {
  type BtConst,
  BT_CONST_BYTES,
  computeBitTiming,
  decodeHostFrame,
  type DeviceConfig,
  DEVICE_CONFIG_BYTES,
  ECHO_ID_RX,
  encodeBitTiming,
  encodeHostFrame,
  encodeMode,
  GET_STATE_BYTES,
  GS_USB_INTERFACE_CLASS,
  GsFeature,
  GsMode,
  GsRequest,
  HOST_FORMAT_BEEF,
  HOST_FRAME_BYTES,
  HOST_FRAME_TIMESTAMP_BYTES,
  parseBtConst,
  parseDeviceConfig,
  parseDeviceState,
} from './protocol';

export interface GsUsbTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface GsUsbOptions {
  bitrate: number;
  listenOnly?: boolean;
  /** Use the device's µs stamps where it has them (default true). */
  hardwareTimestamps?: boolean;
  /** Ask for bus-error frames where the device offers the choice (default true: the monitor counts them). */
  busErrorReporting?: boolean;
  /** IN transfers kept outstanding (default 64; Linux keeps 30): frames the adapter can hand over while the page is busy. */
  rxTransfers?: number;
  /** Frames in flight before writes wait for echoes (Linux: 10). */
  maxTxInFlight?: number;
  /** A frame without an echo after this long is reported and its slot freed, ms. */
  echoTimeoutMs?: number;
  /** Period of GET_STATE polls where the device has them, ms (default 1000; 0: never). */
  statePollMs?: number;
  label?: string;
  now?: () => number;
  timers?: GsUsbTimers;
}

const defaultTimers: GsUsbTimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

const RECOVERY_DELAYS_MS = [100, 500, 1000, 2000, 5000];
/** Without RESTARTED for this long after bus-off, the driver restarts the channel itself. */
const STUCK_BUS_OFF_MS = 2000;
const DRAIN_TIMEOUT_MS = 200;

export async function openGsUsbTransport(device: UsbDeviceLike, options: GsUsbOptions): Promise<CanTransport> {
  const transport = new GsUsbTransport(device, options);
  await transport.start();
  return transport;
}

export function isGsUsb(device: UsbDeviceLike): boolean {
  const configuration = device.configuration ?? device.configurations[0];
  return (configuration?.interfaces ?? []).some((i) => i.alternate.interfaceClass === GS_USB_INTERFACE_CLASS && i.alternate.endpoints.some((e) => e.type === 'bulk'));
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed';

interface TxSlot {
  readonly frame: CanFrame;
  readonly timer: unknown;
}

class GsUsbTransport implements CanTransport {
  readonly label: string;
  readonly fromBus: ReadableStream<TransportEvent>;
  readonly toBus: WritableStream<CanFrame>;

  readonly #device: UsbDeviceLike;
  readonly #options: GsUsbOptions;
  readonly #now: () => number;
  readonly #timers: GsUsbTimers;
  readonly #events: EventSource<TransportEvent>;
  #toBusController!: WritableStreamDefaultController;
  #state: State = 'idle';
  #interfaceNumber = 0;
  #in: UsbEndpointLike | undefined;
  #out: UsbEndpointLike | undefined;
  #btConst: BtConst | undefined;
  #config: DeviceConfig | undefined;
  #flags = 0;
  #frameBytes = HOST_FRAME_BYTES;
  #clock: DeviceClock | undefined;
  #readers: Promise<void>[] = [];
  #slots = new Map<number, TxSlot>();
  #slotWaiters: (() => void)[] = [];
  #busState: BusState | undefined;
  #busOffAt: number | undefined;
  #recoveryTimer: unknown;
  #stateTimer: unknown;
  #recoveries = 0;
  #transferErrors = 0;

  constructor(device: UsbDeviceLike, options: GsUsbOptions) {
    this.#device = device;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    this.#timers = options.timers ?? defaultTimers;
    this.label = options.label ?? `${describeUsbDevice(device)}, gs_usb`;
    this.#events = new EventSource<TransportEvent>(() => this.close());
    this.fromBus = this.#events.stream;
    this.toBus = new WritableStream<CanFrame>({
      start: (controller) => {
        this.#toBusController = controller;
      },
      write: (frame) => this.#transmit(frame),
    });
  }

  /** Features the device offered (BT_CONST), once started. */
  get features(): number {
    return this.#btConst?.features ?? 0;
  }

  /** MODE flags the channel was started with. */
  get modeFlags(): number {
    return this.#flags;
  }

  get deviceConfig(): DeviceConfig | undefined {
    return this.#config;
  }

  async start(): Promise<void> {
    this.#emit({ type: 'status', status: 'connecting' });
    this.#state = 'starting';
    try {
      await this.#open();
    } catch (error) {
      this.#state = 'closing';
      await this.#releaseDevice();
      this.#finish('device-lost', errorMessage(error));
      throw error instanceof AdapterOpenError ? error : new AdapterOpenError(`The gs_usb adapter did not accept its configuration (${errorMessage(error)}).`, { cause: error });
    }
    this.#state = 'open';
    const rx = this.#options.rxTransfers ?? 64;
    this.#readers = Array.from({ length: rx }, () => this.#readLoop());
    this.#emit({ type: 'status', status: 'connected' });
    this.#scheduleStatePoll();
  }

  async #open(): Promise<void> {
    await openDevice(this.#device);
    const itf = findInterface(this.#device, (a) => a.interfaceClass === GS_USB_INTERFACE_CLASS && a.endpoints.some((e) => e.type === 'bulk'));
    const inEp = itf && findEndpoint(itf.alternate, 'in', 'bulk');
    const outEp = itf && findEndpoint(itf.alternate, 'out', 'bulk');
    if (!itf || !inEp || !outEp) throw new AdapterOpenError('This USB device has no gs_usb interface (vendor class with bulk endpoints).');
    await claim(
      this.#device,
      itf.interfaceNumber,
      "on Linux the kernel's gs_usb driver holds it (unload it with `sudo modprobe -r gs_usb`, or add a udev rule that unbinds it); on Windows the device needs the WinUSB driver, which candleLight firmware installs by itself.",
    );
    this.#interfaceNumber = itf.interfaceNumber;
    this.#in = inEp;
    this.#out = outEp;

    await this.#controlOut(GsRequest.HOST_FORMAT, 1, HOST_FORMAT_BEEF);
    this.#config = parseDeviceConfig(await this.#controlIn(GsRequest.DEVICE_CONFIG, 1, DEVICE_CONFIG_BYTES));
    const btConst = parseBtConst(await this.#controlIn(GsRequest.BT_CONST, 0, BT_CONST_BYTES));
    this.#btConst = btConst;
    // A channel left running by an earlier session (a crashed tab) is stopped first.
    await this.#controlOut(GsRequest.MODE, 0, encodeMode(GsMode.RESET, 0));
    let timing;
    try {
      timing = computeBitTiming(btConst, this.#options.bitrate);
    } catch (error) {
      throw new AdapterOpenError(errorMessage(error), { cause: error });
    }
    await this.#controlOut(GsRequest.BITTIMING, 0, encodeBitTiming(timing));

    let flags = 0;
    const has = (feature: number) => (btConst.features & feature) !== 0;
    if (this.#options.listenOnly) {
      if (!has(GsFeature.LISTEN_ONLY)) throw new AdapterOpenError('This gs_usb adapter cannot listen only.');
      flags |= GsFeature.LISTEN_ONLY;
    }
    if (this.#options.hardwareTimestamps !== false && has(GsFeature.HW_TIMESTAMP)) flags |= GsFeature.HW_TIMESTAMP;
    if (this.#options.busErrorReporting !== false && has(GsFeature.BERR_REPORTING)) flags |= GsFeature.BERR_REPORTING;
    // Where the device lets the host decide, the host recovers from bus-off, with backoff.
    if (has(GsFeature.BUS_OFF_RECOVERY)) flags |= GsFeature.BUS_OFF_RECOVERY;
    this.#flags = flags;
    this.#frameBytes = flags & GsFeature.HW_TIMESTAMP ? HOST_FRAME_TIMESTAMP_BYTES : HOST_FRAME_BYTES;
    this.#clock = flags & GsFeature.HW_TIMESTAMP ? new DeviceClock(1, 2 ** 32) : undefined;
    await this.#startChannel();
  }

  async #startChannel(): Promise<void> {
    await this.#controlOut(GsRequest.MODE, 0, encodeMode(GsMode.START, this.#flags));
    this.#setBusState('error-active', this.#now());
  }

  #setup(request: number, value: number): USBControlTransferParameters {
    return { requestType: 'vendor', recipient: 'interface', request, value, index: this.#interfaceNumber };
  }

  async #controlOut(request: number, value: number, data: Uint8Array): Promise<void> {
    const result = await this.#device.controlTransferOut(this.#setup(request, value), data.slice());
    if (result.status !== 'ok') throw new Error(`gs_usb request ${request} was refused (${result.status ?? 'no status'})`);
  }

  async #controlIn(request: number, value: number, length: number): Promise<Uint8Array> {
    const result = await this.#device.controlTransferIn(this.#setup(request, value), length);
    if (result.status !== 'ok') throw new Error(`gs_usb request ${request} was refused (${result.status ?? 'no status'})`);
    return bytesOf(result);
  }

  async #readLoop(): Promise<void> {
    const ep = this.#in as UsbEndpointLike;
    // Whole packets: a device that pads frames to the packet size must not babble.
    const length = Math.ceil(this.#frameBytes / ep.packetSize) * ep.packetSize;
    while (this.#state === 'open' || this.#state === 'closing') {
      let result;
      try {
        result = await this.#device.transferIn(ep.endpointNumber, length);
      } catch (error) {
        if (isAborted(error) || this.#state !== 'open') return;
        if (isDeviceLost(error)) return this.#lost('device-lost', error);
        if (++this.#transferErrors > 20) return this.#lost('read-error', error);
        this.#emit({ type: 'warning', message: `USB read failed: ${errorMessage(error)}` });
        continue;
      }
      if (result.status === 'stall') {
        await this.#device.clearHalt('in', ep.endpointNumber).catch(() => undefined);
        continue;
      }
      if (result.status === 'babble') {
        this.#emit({ type: 'warning', message: 'the adapter sent more than one frame in a transfer (babble); it was dropped' });
        continue;
      }
      this.#transferErrors = 0;
      this.#receive(bytesOf(result));
      // A reader that lags leaves transfers unsubmitted; the adapter then buffers, and reports overflow.
      await this.#events.room();
    }
  }

  #receive(bytes: Uint8Array): void {
    const at = this.#now();
    const decoded = decodeHostFrame(bytes, this.#frameBytes === HOST_FRAME_TIMESTAMP_BYTES);
    if (decoded.kind === 'invalid') {
      this.#emit({ type: 'warning', message: `unreadable input: ${decoded.reason}` });
      return;
    }
    if (decoded.overflow) this.#emit({ type: 'bus-error', kind: 'rx-overflow', detail: 'the adapter dropped frames: its buffer toward the host was full', at });
    if (decoded.echoId !== ECHO_ID_RX) {
      this.#echo(decoded.echoId);
      return;
    }
    const deviceTime = decoded.timestampUs !== undefined && this.#clock ? { deviceTimeUs: this.#clock.toMicros(decoded.timestampUs, at) } : {};
    if (decoded.kind === 'error') {
      const e = decoded.error;
      for (const kind of e.kinds) this.#emit({ type: 'bus-error', kind, detail: e.description, at });
      if (e.state) this.#setBusState(e.state, at, e.txErrors, e.rxErrors);
      else if (e.txErrors !== undefined) this.#emit({ type: 'bus-state', state: this.#busState ?? 'error-active', at, txErrors: e.txErrors, ...(e.rxErrors !== undefined ? { rxErrors: e.rxErrors } : {}) });
      return;
    }
    this.#emit({ type: 'frame', frame: decoded.frame, receivedAt: at, ...deviceTime });
  }

  #echo(echoId: number): void {
    const slot = this.#slots.get(echoId);
    if (!slot) return; // an echo of a slot that timed out, or of another program
    this.#timers.clearTimeout(slot.timer);
    this.#slots.delete(echoId);
    this.#notifySlots();
  }

  async #transmit(frame: CanFrame): Promise<void> {
    if (this.#state !== 'open') throw new Error('the adapter is not connected');
    const f = validated(frame);
    const at = this.#now();
    if (this.#options.listenOnly) {
      this.#emit({ type: 'bus-error', kind: 'tx-refused', detail: `frame ${formatFrame(f)} not sent: the channel is listen-only`, at });
      return;
    }
    if (this.#busState === 'bus-off') {
      this.#emit({ type: 'bus-error', kind: 'tx-refused', detail: `frame ${formatFrame(f)} not sent: the adapter is bus-off`, at });
      return;
    }
    const echoId = await this.#freeSlot();
    if (this.#state !== 'open') throw new Error('the adapter is not connected');
    const timer = this.#timers.setTimeout(() => {
      if (!this.#slots.delete(echoId)) return;
      this.#emit({ type: 'bus-error', kind: 'tx-refused', detail: `no echo for frame ${formatFrame(f)} within ${this.#options.echoTimeoutMs ?? 1000} ms`, at: this.#now() });
      this.#notifySlots();
    }, this.#options.echoTimeoutMs ?? 1000);
    this.#slots.set(echoId, { frame: f, timer });
    try {
      const result = await this.#device.transferOut((this.#out as UsbEndpointLike).endpointNumber, encodeHostFrame(f, echoId));
      if (result.status === 'stall') {
        await this.#device.clearHalt('out', (this.#out as UsbEndpointLike).endpointNumber);
        await this.#device.transferOut((this.#out as UsbEndpointLike).endpointNumber, encodeHostFrame(f, echoId));
      }
    } catch (error) {
      this.#slots.delete(echoId);
      this.#timers.clearTimeout(timer);
      if (isDeviceLost(error)) this.#lost('device-lost', error);
      else this.#lost('write-error', error);
      throw error;
    }
  }

  /** An echo id with no frame in flight; waits while all are taken. */
  async #freeSlot(): Promise<number> {
    const max = this.#options.maxTxInFlight ?? 10;
    while (this.#slots.size >= max) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
      if (this.#state !== 'open') return 0;
    }
    for (let id = 0; ; id++) if (!this.#slots.has(id)) return id;
  }

  #notifySlots(): void {
    for (const resolve of this.#slotWaiters.splice(0)) resolve();
  }

  #setBusState(state: BusState, at: number, txErrors?: number, rxErrors?: number): void {
    const changed = state !== this.#busState;
    this.#busState = state;
    if (changed || txErrors !== undefined) {
      this.#emit({ type: 'bus-state', state, at, ...(txErrors !== undefined ? { txErrors } : {}), ...(rxErrors !== undefined ? { rxErrors } : {}) });
    }
    if (!changed) return;
    if (state === 'bus-off') {
      this.#busOffAt = at;
      // Frames waiting for echoes will not get them from a controller off the bus.
      for (const [id, slot] of this.#slots) {
        this.#timers.clearTimeout(slot.timer);
        this.#slots.delete(id);
      }
      this.#notifySlots();
      this.#scheduleRecovery();
    } else {
      this.#busOffAt = undefined;
      if (this.#recoveryTimer !== undefined) this.#timers.clearTimeout(this.#recoveryTimer);
      this.#recoveryTimer = undefined;
      if (state === 'error-active') this.#recoveries = 0;
    }
  }

  /**
   * Bus-off: where the device lets the host recover (feature BUS_OFF_RECOVERY), ask it to, with
   * backoff; otherwise the firmware recovers (hardware, or 100 ms later in software), and if no
   * RESTARTED comes the driver restarts the channel.
   */
  #scheduleRecovery(): void {
    if (this.#state !== 'open' || this.#recoveryTimer !== undefined) return;
    const hostDriven = (this.#flags & GsFeature.BUS_OFF_RECOVERY) !== 0;
    const delay = hostDriven ? (RECOVERY_DELAYS_MS[Math.min(this.#recoveries, RECOVERY_DELAYS_MS.length - 1)] as number) : STUCK_BUS_OFF_MS;
    this.#recoveryTimer = this.#timers.setTimeout(() => {
      this.#recoveryTimer = undefined;
      if (this.#state !== 'open' || this.#busState !== 'bus-off') return;
      this.#recoveries++;
      const recovery = hostDriven
        ? this.#controlOut(GsRequest.BUS_OFF_RECOVERY, 0, new Uint8Array(0))
        : this.#controlOut(GsRequest.MODE, 0, encodeMode(GsMode.RESET, 0)).then(() => this.#startChannel());
      this.#emit({ type: 'warning', message: hostDriven ? 'the adapter is bus-off: asking it to recover' : 'the adapter stayed bus-off: restarting its channel' });
      recovery
        .catch((error: unknown) => this.#emit({ type: 'warning', message: `bus-off recovery failed: ${errorMessage(error)}` }))
        .finally(() => {
          // Still off (a shorted bus): try again later, further apart.
          if (this.#busState === 'bus-off') this.#scheduleRecovery();
        });
    }, delay);
  }

  #scheduleStatePoll(): void {
    const period = this.#options.statePollMs ?? 1000;
    if (!(this.features & GsFeature.GET_STATE) || period <= 0 || this.#state !== 'open') return;
    this.#stateTimer = this.#timers.setTimeout(() => {
      this.#stateTimer = undefined;
      if (this.#state !== 'open') return;
      this.#controlIn(GsRequest.GET_STATE, 0, GET_STATE_BYTES)
        .then((bytes) => {
          const s = parseDeviceState(bytes);
          if (this.#state === 'open') this.#setBusState(s.state, this.#now(), s.txErrors, s.rxErrors);
        })
        .catch(() => undefined)
        .finally(() => this.#scheduleStatePoll());
    }, period);
  }

  #lost(reason: DisconnectReason, error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#stopTimers();
    this.#events.unblock();
    void this.#releaseDevice();
    this.#finish(reason, errorMessage(error));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    this.#stopTimers(true);
    if (wasOpen) {
      // Drain: frames already written get their echoes (or the wait ends), then the channel stops.
      const deadline = this.#now() + DRAIN_TIMEOUT_MS;
      while (this.#slots.size > 0 && this.#now() < deadline) {
        await new Promise<void>((resolve) => {
          this.#slotWaiters.push(resolve);
          this.#timers.setTimeout(resolve, 10);
        });
      }
      await this.#controlOut(GsRequest.MODE, 0, encodeMode(GsMode.RESET, 0)).catch(() => undefined);
    }
    this.#stopTimers();
    this.#events.unblock();
    await this.#releaseDevice();
    await Promise.all(this.#readers);
    this.#finish('user');
  }

  async #releaseDevice(): Promise<void> {
    try {
      // Releasing the interface ends the outstanding IN transfers.
      if (this.#device.opened) {
        await this.#device.releaseInterface(this.#interfaceNumber).catch(() => undefined);
        await this.#device.close();
      }
    } catch {
      // Gone already.
    }
  }

  #stopTimers(keepSlots = false): void {
    if (this.#recoveryTimer !== undefined) this.#timers.clearTimeout(this.#recoveryTimer);
    if (this.#stateTimer !== undefined) this.#timers.clearTimeout(this.#stateTimer);
    this.#recoveryTimer = undefined;
    this.#stateTimer = undefined;
    if (keepSlots) return;
    for (const slot of this.#slots.values()) this.#timers.clearTimeout(slot.timer);
    this.#slots.clear();
    this.#notifySlots();
  }

  #finish(reason: DisconnectReason, detail?: string): void {
    this.#state = 'closed';
    this.#emit(detail ? { type: 'status', status: 'disconnected', reason, detail } : { type: 'status', status: 'disconnected', reason });
    this.#events.close();
    this.#toBusController.error(new Error('adapter disconnected'));
  }

  #emit(event: TransportEvent): void {
    this.#events.emit(event);
  }
}
