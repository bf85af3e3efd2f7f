/**
 * A gs_usb adapter (candleLight firmware) on the virtual bus, behind an emulated WebUSB device:
 * the vendor interface with bulk IN 0x81 and OUT 0x02 and the gs_usb control requests, as
 * candleLight_fw answers them (shared/reference/can-adapters.md §2). Flavours carry the
 * differences between firmware generations: bus-off recovery by the hardware (older trees) or in
 * software 100 ms later unless the host asks to do it (2026), bus-error frames always or only when
 * asked, GET_STATE.
 *
 * Each frame to the host is its own USB transfer, one at a time, from a pool of 64 frames; when
 * the pool is full new frames are dropped and the next one delivered carries the OVERFLOW flag.
 * Echoes go back when a frame enters one of the controller's three transmit mailboxes, not when
 * it has been sent, as candleLight's README says.
 */
import type { CanFrame } from '../can/frame';
import {
  type BitTiming,
  type BtConst,
  CAN_EFF_FLAG,
  CAN_EFF_MASK,
  CAN_RTR_FLAG,
  CAN_SFF_MASK,
  CanError,
  CanErrorCrtl,
  CanErrorProt,
  ECHO_ID_RX,
  encodeBtConst,
  encodeDeviceConfig,
  encodeDeviceState,
  encodeErrorFrame,
  GS_FLAG_OVERFLOW,
  GsFeature,
  GsMode,
  GsRequest,
  HOST_FORMAT_BEEF,
  HOST_FRAME_BYTES,
  parseBitTiming,
  parseMode,
  timingBitrate,
} from '../can/gs-usb/protocol';
import type { BusErrorKind, BusState } from '../can/transport';
import type { UsbConfigurationLike } from '../can/usb/webusb';
import { BUS_OFF_RECOVERY_BITS, EmulatedCanController } from './can-controller';
import { type ControlResult, type EmulatedUsbDevice, endpoint, type UsbDeviceEmulatorOptions, UsbDeviceEmulator, type UsbFunction, usbInterface } from './emulated-usb-device';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';

export interface GsUsbFlavour {
  readonly name: string;
  readonly vendorId: number;
  readonly productId: number;
  readonly productName: string;
  readonly manufacturerName: string;
  readonly btConst: BtConst;
  readonly swVersion: number;
  readonly hwVersion: number;
  /** wMaxPacketSize of the bulk endpoints: 32 on classic builds, 64 with CAN FD. */
  readonly packetSize: number;
  /**
   * 'hardware': bxCAN automatic bus-off management; 'software': restart 100 ms later unless the
   * host enabled BUS_OFF_RECOVERY; 'none': a fault model of a firmware that never recovers and
   * offers no request 32, so only a channel restart helps.
   */
  readonly busOffRecovery: 'hardware' | 'software' | 'none';
  /** Bus-error frames whatever the host asked (older firmware), or only with BERR_REPORTING. */
  readonly busErrorsAlways: boolean;
}

const F = GsFeature;
const BXCAN_48MHZ: Omit<BtConst, 'features'> = { fclkCan: 48_000_000, tseg1Min: 1, tseg1Max: 16, tseg2Min: 1, tseg2Max: 8, sjwMax: 4, brpMin: 1, brpMax: 1024, brpInc: 1 };

/** candleLight_fw before 2026 (tree ced5349): hardware bus-off recovery, no GET_STATE. */
export const CANDLELIGHT_LEGACY_FLAVOUR: GsUsbFlavour = {
  name: 'candleLight (firmware before 2026)',
  vendorId: 0x1d50,
  productId: 0x606f,
  productName: 'candleLight USB to CAN adapter',
  manufacturerName: 'bytewerk',
  btConst: { ...BXCAN_48MHZ, features: F.LISTEN_ONLY | F.LOOP_BACK | F.TRIPLE_SAMPLE | F.ONE_SHOT | F.HW_TIMESTAMP | F.IDENTIFY | F.PAD_PKTS_TO_MAX_PKT_SIZE },
  swVersion: 2,
  hwVersion: 1,
  packetSize: 32,
  busOffRecovery: 'hardware',
  busErrorsAlways: true,
};

/** candleLight_fw of 2026: bus errors only on request, GET_STATE, host-driven bus-off recovery offered. */
export const CANDLELIGHT_2026_FLAVOUR: GsUsbFlavour = {
  ...CANDLELIGHT_LEGACY_FLAVOUR,
  name: 'candleLight (2026 firmware)',
  btConst: { ...CANDLELIGHT_LEGACY_FLAVOUR.btConst, features: CANDLELIGHT_LEGACY_FLAVOUR.btConst.features | F.BERR_REPORTING | F.GET_STATE | F.BUS_OFF_RECOVERY },
  busOffRecovery: 'software',
  busErrorsAlways: false,
};

/** A CANable flashed with candleLight: same firmware, its own strings. */
export const CANABLE_CANDLELIGHT_FLAVOUR: GsUsbFlavour = {
  ...CANDLELIGHT_LEGACY_FLAVOUR,
  name: 'CANable with candleLight firmware',
  productName: 'canable gs_usb',
  manufacturerName: 'canable.io',
};

export const GS_USB_FLAVOURS: readonly GsUsbFlavour[] = [CANDLELIGHT_LEGACY_FLAVOUR, CANDLELIGHT_2026_FLAVOUR, CANABLE_CANDLELIGHT_FLAVOUR];

export const GS_USB_INTERFACE = 0;
export const GS_USB_IN_ENDPOINT = 1;
export const GS_USB_OUT_ENDPOINT = 2;
const POOL_FRAMES = 64;
const MAILBOXES = 3;
const SOFTWARE_RECOVERY_NS = 100e6;

export interface GsUsbAdapterOptions {
  flavour?: GsUsbFlavour;
  serialNumber?: string;
  /** Offset of the device's µs timer, so stamps do not start at zero (and can wrap in a test). */
  clockOffsetNs?: number;
  usb?: UsbDeviceEmulatorOptions;
}

export interface GsUsbAdapterStats {
  framesToBus: number;
  framesFromBus: number;
  echoes: number;
  errorFrames: number;
  /** Frames dropped because the pool toward the host was full. */
  framesOverflowed: number;
  /** Host frames ignored: channel not started, listen-only, too short. */
  hostFramesIgnored: number;
  controlStalls: number;
}

export class GsUsbAdapterEmulator implements UsbFunction {
  readonly usb: UsbDeviceEmulator;
  readonly flavour: GsUsbFlavour;
  readonly controller = new EmulatedCanController();
  readonly stats: GsUsbAdapterStats = { framesToBus: 0, framesFromBus: 0, echoes: 0, errorFrames: 0, framesOverflowed: 0, hostFramesIgnored: 0, controlStalls: 0 };
  readonly configuration: UsbConfigurationLike;

  #scheduler: EventScheduler;
  #bus: VirtualCanBus;
  #node: BusNode;
  #clockOffsetNs: number;
  #handle: EmulatedUsbDevice | undefined;
  #claimed = false;
  #hostFormatSet = false;
  #timing: BitTiming | undefined;
  #started = false;
  #flags = 0;
  #toHost: Uint8Array[] = [];
  #overflowPending = false;
  #inFlight = false;
  #hostQueue: { frame: CanFrame; echoId: number }[] = [];
  /** Frames in the controller's transmit mailboxes (echoed already), oldest first. */
  #mailboxes: CanFrame[] = [];
  #onWire = false;
  #recoveryCancel: (() => void) | undefined;
  /** Identify (LED blink) requested. */
  identifying = false;

  constructor(scheduler: EventScheduler, bus: VirtualCanBus, options: GsUsbAdapterOptions = {}) {
    this.#scheduler = scheduler;
    this.#bus = bus;
    this.flavour = options.flavour ?? CANDLELIGHT_2026_FLAVOUR;
    this.#clockOffsetNs = options.clockOffsetNs ?? 0;
    const size = this.flavour.packetSize;
    this.configuration = {
      configurationValue: 1,
      configurationName: null,
      interfaces: [
        usbInterface(GS_USB_INTERFACE, { interfaceClass: 0xff, interfaceSubclass: 0xff, interfaceProtocol: 0xff, interfaceName: 'gs_usb interface' }, [
          endpoint(GS_USB_IN_ENDPOINT, 'in', 'bulk', size),
          endpoint(GS_USB_OUT_ENDPOINT, 'out', 'bulk', size),
        ]),
        usbInterface(1, { interfaceClass: 0xfe, interfaceSubclass: 0x01, interfaceProtocol: 0x01, interfaceName: 'candleLight firmware upgrade interface' }, []),
      ],
    };
    this.#node = this.#joinBus();
    this.controller.listen({ state: (state, tec, rec) => this.#stateChanged(state, tec, rec), busError: (kind, tec, rec) => this.#busError(kind, tec, rec) });
    this.usb = new UsbDeviceEmulator(
      {
        vendorId: this.flavour.vendorId,
        productId: this.flavour.productId,
        serialNumber: options.serialNumber ?? '003A00245734570920383739',
        productName: this.flavour.productName,
        manufacturerName: this.flavour.manufacturerName,
      },
      this,
      options.usb,
    );
  }

  get started(): boolean {
    return this.#started;
  }
  get modeFlags(): number {
    return this.#flags;
  }
  get bitrate(): number {
    return this.#timing ? timingBitrate(this.flavour.btConst.fclkCan, this.#timing) : 0;
  }
  get timing(): BitTiming | undefined {
    return this.#timing;
  }

  // ---- UsbFunction ----

  attached(handle: EmulatedUsbDevice): void {
    this.#handle = handle;
    this.#inFlight = false;
  }

  interfaceClaimed(interfaceNumber: number, claimed: boolean): void {
    if (interfaceNumber !== GS_USB_INTERFACE) return;
    this.#claimed = claimed;
    if (claimed) this.#pump();
    else this.#inFlight = false;
  }

  powerLost(): void {
    this.#handle = undefined;
    this.#claimed = false;
    this.#hostFormatSet = false;
    this.#timing = undefined;
    this.#stop();
  }

  control(setup: USBControlTransferParameters, direction: 'in' | 'out', data: Uint8Array, length: number): ControlResult {
    const result = this.#control(setup, direction, data, length);
    if (result.status === 'stall') this.stats.controlStalls++;
    return result;
  }

  #control(setup: USBControlTransferParameters, direction: 'in' | 'out', data: Uint8Array, length: number): ControlResult {
    const c = this.flavour.btConst;
    const stall: ControlResult = { status: 'stall' };
    if ((setup.requestType !== 'vendor' && setup.requestType !== 'class') || setup.recipient !== 'interface') return stall;
    const channelRequest = setup.request !== GsRequest.HOST_FORMAT && setup.request !== GsRequest.DEVICE_CONFIG;
    if (channelRequest && setup.value !== 0) return stall; // one channel
    switch (setup.request) {
      case GsRequest.HOST_FORMAT:
        if (direction !== 'out' || data.length < 4) return stall;
        this.#hostFormatSet = data.every((b, i) => i >= 4 || b === HOST_FORMAT_BEEF[i]);
        return { status: 'ok' };
      case GsRequest.DEVICE_CONFIG:
        if (direction !== 'in') return stall;
        return { status: 'ok', data: encodeDeviceConfig({ icount: 0, swVersion: this.flavour.swVersion, hwVersion: this.flavour.hwVersion }) };
      case GsRequest.BT_CONST:
        if (direction !== 'in' || length < 40) return stall;
        return { status: 'ok', data: encodeBtConst(c) };
      case GsRequest.BITTIMING: {
        if (direction !== 'out' || data.length < 20) return stall;
        const t = parseBitTiming(data);
        const tseg1 = t.propSeg + t.phaseSeg1;
        const valid =
          tseg1 >= c.tseg1Min && tseg1 <= c.tseg1Max && t.phaseSeg2 >= c.tseg2Min && t.phaseSeg2 <= c.tseg2Max && t.sjw >= 1 && t.sjw <= c.sjwMax && t.brp >= c.brpMin && t.brp <= c.brpMax;
        if (!valid) return stall;
        this.#timing = t;
        return { status: 'ok' };
      }
      case GsRequest.MODE: {
        if (direction !== 'out' || data.length < 8) return stall;
        const { mode, flags } = parseMode(data);
        if (mode === GsMode.RESET) {
          this.#stop();
          return { status: 'ok' };
        }
        if (mode !== GsMode.START || (flags & ~c.features) !== 0 || !this.#timing) return stall;
        this.#flags = flags;
        this.#started = true;
        this.controller.start();
        return { status: 'ok' };
      }
      case GsRequest.TIMESTAMP: {
        if (direction !== 'in') return stall;
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, this.#micros(this.#scheduler.now), true);
        return { status: 'ok', data: out };
      }
      case GsRequest.IDENTIFY:
        if (direction !== 'out' || !(c.features & F.IDENTIFY)) return stall;
        this.identifying = (data[0] ?? 0) !== 0;
        return { status: 'ok' };
      case GsRequest.GET_STATE:
        if (direction !== 'in' || !(c.features & F.GET_STATE)) return stall;
        return { status: 'ok', data: encodeDeviceState({ state: this.controller.state, rxErrors: this.controller.rec, txErrors: this.controller.tec }) };
      case GsRequest.BUS_OFF_RECOVERY:
        if (direction !== 'out' || !(this.#flags & F.BUS_OFF_RECOVERY) || this.controller.state !== 'bus-off') return stall;
        this.#scheduleRecovery((BUS_OFF_RECOVERY_BITS * 1e9) / this.#bus.bitrate);
        return { status: 'ok' };
      default:
        return stall;
    }
  }

  bulkOut(endpointNumber: number, data: Uint8Array): 'ok' | 'stall' {
    if (endpointNumber !== GS_USB_OUT_ENDPOINT) return 'stall';
    // Shorter OUT data is ignored (candleLight needs a whole host frame).
    if (data.length < HOST_FRAME_BYTES || !this.#started || this.#flags & F.LISTEN_ONLY) {
      this.stats.hostFramesIgnored++;
      return 'ok';
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const echoId = view.getUint32(0, true);
    const canId = view.getUint32(4, true);
    const dlc = Math.min(8, data[8] ?? 0);
    const extended = (canId & CAN_EFF_FLAG) !== 0;
    const remote = (canId & CAN_RTR_FLAG) !== 0;
    const frame: CanFrame = { id: canId & (extended ? CAN_EFF_MASK : CAN_SFF_MASK), extended, remote, dlc, data: remote ? new Uint8Array(0) : data.slice(12, 12 + dlc) };
    this.#hostQueue.push({ frame, echoId });
    this.#fillMailboxes();
    return 'ok';
  }

  // ---- CAN side ----

  #joinBus(): BusNode {
    const node = this.#bus.attach(`gs_usb adapter (${this.flavour.name})`);
    node.onReceive = (frame, endNs) => this.#fromBus(frame, endNs);
    node.onTransmitted = () => {
      this.#mailboxes.shift();
      this.#onWire = false;
      this.stats.framesToBus++;
      this.controller.transmitted();
      this.#fillMailboxes();
    };
    return node;
  }

  /** Bus-off: the controller takes no part in the bus; what sat in its mailboxes is lost. */
  #leaveBus(): void {
    this.#node.detach();
    this.#mailboxes = [];
    this.#onWire = false;
    this.#node = this.#joinBus();
  }

  /**
   * Host frames into free mailboxes, each echoed as it goes in. The mailboxes leave in the order
   * they were filled (bxCAN with TXFP, transmit FIFO priority), so frames keep the host's order.
   */
  #fillMailboxes(): void {
    while (this.#started && this.controller.active && this.#mailboxes.length < MAILBOXES) {
      const next = this.#hostQueue.shift();
      if (!next) break;
      // At a wrong bit rate the frame only disturbs the bus and arrives nowhere.
      if (this.bitrate === this.#bus.bitrate) this.#mailboxes.push(next.frame);
      // The echo leaves as the frame is written to the mailbox: flags cleared, time stamped.
      this.stats.echoes++;
      this.#queueToHost(this.#hostFrame(next.frame, next.echoId, this.#scheduler.now));
    }
    const head = this.#mailboxes[0];
    if (head && !this.#onWire && this.controller.active) {
      this.#onWire = true;
      this.#node.send(head);
    }
  }

  #fromBus(frame: CanFrame, endNs: number): void {
    if (!this.#started || !this.controller.active || this.bitrate !== this.#bus.bitrate) return;
    this.controller.received();
    this.stats.framesFromBus++;
    this.#queueToHost(this.#hostFrame(frame, ECHO_ID_RX, endNs));
  }

  #hostFrame(frame: CanFrame, echoId: number, atNs: number): Uint8Array {
    const stamped = (this.#flags & F.HW_TIMESTAMP) !== 0;
    const out = new Uint8Array(stamped ? 24 : 20);
    const view = new DataView(out.buffer);
    view.setUint32(0, echoId >>> 0, true);
    view.setUint32(4, (frame.id | (frame.extended ? CAN_EFF_FLAG : 0) | (frame.remote ? CAN_RTR_FLAG : 0)) >>> 0, true);
    out[8] = frame.dlc;
    if (!frame.remote) out.set(frame.data, 12);
    if (stamped) view.setUint32(20, this.#micros(atNs), true);
    return out;
  }

  #micros(atNs: number): number {
    return Math.floor((atNs + this.#clockOffsetNs) / 1e3) % 2 ** 32;
  }

  #stateChanged(state: BusState, tec: number, rec: number): void {
    if (state === 'stopped') return;
    let classes = CanError.CNT;
    let crtl = 0;
    if (state === 'bus-off') classes |= CanError.BUSOFF;
    else {
      classes |= CanError.CRTL;
      const side = tec >= rec ? 'tx' : 'rx';
      if (state === 'error-warning') crtl = side === 'tx' ? CanErrorCrtl.TX_WARNING : CanErrorCrtl.RX_WARNING;
      else if (state === 'error-passive') crtl = side === 'tx' ? CanErrorCrtl.TX_PASSIVE : CanErrorCrtl.RX_PASSIVE;
      else crtl = CanErrorCrtl.ACTIVE;
    }
    this.#errorFrame(classes, [0, crtl, 0, 0, 0, 0, Math.min(255, tec), Math.min(255, rec)]);
    if (state === 'bus-off') {
      this.#leaveBus();
      if (this.flavour.busOffRecovery === 'hardware') this.#scheduleRecovery((BUS_OFF_RECOVERY_BITS * 1e9) / this.#bus.bitrate);
      else if (this.flavour.busOffRecovery === 'software' && !(this.#flags & F.BUS_OFF_RECOVERY)) this.#scheduleRecovery(SOFTWARE_RECOVERY_NS);
    }
    if (state === 'error-active') this.#fillMailboxes();
  }

  #scheduleRecovery(delayNs: number): void {
    this.#recoveryCancel?.();
    this.#recoveryCancel = this.#scheduler.after(delayNs, () => {
      this.#recoveryCancel = undefined;
      if (!this.#started) return;
      // RESTARTED goes out first; the CRTL ACTIVE frame of the state change follows.
      if (this.flavour.busOffRecovery === 'software') this.#errorFrame(CanError.RESTARTED, [0, 0, 0, 0, 0, 0, 0, 0]);
      this.controller.recover();
    });
  }

  #busError(kind: BusErrorKind, tec: number, rec: number): void {
    const enabled = this.flavour.busErrorsAlways || (this.#flags & F.BERR_REPORTING) !== 0;
    if (!enabled) return;
    const prot = kind === 'bit' ? CanErrorProt.BIT : kind === 'form' ? CanErrorProt.FORM : kind === 'stuff' ? CanErrorProt.STUFF : 0;
    const location = kind === 'crc' ? 0x08 : 0;
    const classes = (kind === 'ack' ? CanError.ACK : CanError.PROT) | CanError.BUSERROR | CanError.CNT;
    this.#errorFrame(classes, [0, 0, prot, location, 0, 0, Math.min(255, tec), Math.min(255, rec)]);
  }

  #errorFrame(classes: number, data: readonly number[]): void {
    if (!this.#started) return;
    this.stats.errorFrames++;
    const stamped = (this.#flags & F.HW_TIMESTAMP) !== 0;
    this.#queueToHost(encodeErrorFrame(classes, data, stamped ? this.#micros(this.#scheduler.now) : undefined));
  }

  #stop(): void {
    if (this.#mailboxes.length > 0) this.#leaveBus();
    this.#started = false;
    this.#flags = 0;
    this.#hostQueue = [];
    this.#recoveryCancel?.();
    this.#recoveryCancel = undefined;
    this.controller.stop();
  }

  // ---- USB side ----

  #queueToHost(frame: Uint8Array): void {
    if (this.#toHost.length >= POOL_FRAMES) {
      this.stats.framesOverflowed++;
      this.#overflowPending = true;
      return;
    }
    this.#toHost.push(frame);
    this.#pump();
  }

  /** One frame per transfer, the next once the host has taken it. */
  #pump(): void {
    const handle = this.#handle;
    if (!handle || !this.#claimed || this.#inFlight) return;
    const frame = this.#toHost.shift();
    if (!frame) return;
    if (this.#overflowPending) {
      frame[10] = (frame[10] ?? 0) | GS_FLAG_OVERFLOW;
      this.#overflowPending = false;
    }
    let bytes = frame;
    if (this.#flags & F.PAD_PKTS_TO_MAX_PKT_SIZE && frame.length < this.flavour.packetSize) {
      bytes = new Uint8Array(this.flavour.packetSize);
      bytes.set(frame);
    }
    this.#inFlight = true;
    void handle.submitIn(GS_USB_IN_ENDPOINT, bytes, false, () => {
      if (this.#handle !== handle) return;
      this.#inFlight = false;
      this.#pump();
    });
  }

  /** Pulls the cable. */
  unplug(): void {
    this.usb.unplug();
  }

  replug(): void {
    this.usb.replug();
  }

  /** HOST_FORMAT was sent (the firmware ignores it, but Linux and we send it first). */
  get hostFormatSet(): boolean {
    return this.#hostFormatSet;
  }
}
