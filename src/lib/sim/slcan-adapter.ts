/**
 * An slcan USB-CAN adapter on the virtual bus, seen by the host as a serial port (Web Serial) or
 * as a USB CDC-ACM device (WebUSB) — one adapter, both views, as a CANable is both.
 *
 * It speaks LAWICEL as the firmwares in shared/reference/can-adapters.md §1.4 do, with their
 * differences as a `flavour`: whether commands are acknowledged, what S7 means, how listen-only is
 * opened, whether and how frames are stamped, what `F` reports, how bus-off ends, how LF in a
 * command is treated and how long a command may be. Bytes to the host leave in 64-byte USB
 * packets, at most 19 per 1 ms frame (full-speed bulk), so lines are cut and joined as real USB
 * delivers them; a host that does not read makes the adapter's transmit buffer fill and then
 * drop whole lines, as the firmwares do.
 */
import type { CanFrame } from '../can/frame';
import { encodeFrame, parseFrameLine } from '../can/slcan/codec';
import type { SlcanFirmwareId } from '../can/slcan/firmware';
import { BUS_OFF_RECOVERY_BITS, EmulatedCanController } from './can-controller';
import { CdcAcmFunction } from './cdc-acm-function';
import { EmulatedSerialPort } from './emulated-serial-port';
import { UsbDeviceEmulator, type UsbDeviceEmulatorOptions } from './emulated-usb-device';
import { seededRandom } from './random';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';

export interface SlcanFlavour {
  readonly name: string;
  /** The firmware this flavour emulates (the driver's table in can/slcan/firmware.ts). */
  readonly firmware: SlcanFirmwareId;
  readonly usbVendorId: number;
  readonly usbProductId: number;
  readonly productName: string;
  readonly manufacturerName: string;
  /** CR / BELL / z replies to commands (stock CANable firmware sends none). */
  readonly acknowledges: boolean;
  /** `C` gets a reply (Elmue's never does). */
  readonly repliesToClose: boolean;
  /** Bit rates of S0, S1, …; S7 is 750k on the stock CANable 1.0, 800k elsewhere. */
  readonly presets: readonly number[];
  /** How the firmware opens listen-only: `L`, or `M1` before `O` (stock CANable). */
  readonly listenOnly: 'L' | 'M1';
  /** Z modes it takes while closed: Z1 stamps 4 hex digits of ms (wrap 60 000), Z2 8 of µs (wrap one hour). */
  readonly timestampModes: readonly ('Z1' | 'Z2')[];
  /** What `F` answers; undefined: `F` is not a status command here. */
  readonly statusFlags: 'lawicel' | 'usbtin' | 'nakakiyo' | undefined;
  /** `F` only while the channel is open (Nakakiyo: BELL otherwise). */
  readonly statusOnlyWhenOpen: boolean;
  /** Answer to `V` (without CR). */
  readonly versionReply: string;
  /** The controller leaves bus-off by itself (bxCAN automatic bus-off management); else only C then O. */
  readonly automaticBusOffRecovery: boolean;
  /** LF is kept in the command buffer and spoils the next command (CANable, Nakakiyo); USBtin skips it. */
  readonly lfSpoilsCommand: boolean;
  /** Command buffer; a longer command is lost (canable-fw resets its index silently). */
  readonly commandBufferBytes: number;
  /** Bytes waiting for the USB link before the firmware drops lines. */
  readonly txBufferBytes: number;
  /** `O` while open is refused (Elmue, USBtin, Nakakiyo); others reopen silently. */
  readonly refusesOpenWhenOpen: boolean;
}

const LAWICEL_PRESETS = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000];

export const CANABLE1_STOCK_FLAVOUR: SlcanFlavour = {
  name: 'CANable 1.0 stock slcan',
  firmware: 'canable1-stock',
  usbVendorId: 0xad50,
  usbProductId: 0x60c4,
  productName: 'CANable',
  manufacturerName: 'Protofusion Labs',
  acknowledges: false,
  repliesToClose: false,
  presets: [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 750_000, 1_000_000],
  listenOnly: 'M1',
  timestampModes: [],
  statusFlags: undefined,
  statusOnlyWhenOpen: false,
  versionReply: '3b5e2c1 https://github.com/normaldotcom/canable-fw.git',
  automaticBusOffRecovery: true,
  lfSpoilsCommand: true,
  commandBufferBytes: 30,
  txBufferBytes: 1024,
  refusesOpenWhenOpen: false,
};

export const CANABLE2_STOCK_FLAVOUR: SlcanFlavour = {
  ...CANABLE1_STOCK_FLAVOUR,
  name: 'CANable 2.0 stock slcan',
  firmware: 'canable2-stock',
  usbVendorId: 0x16d0,
  usbProductId: 0x117e,
  productName: 'CANable2 b158aa7 github.com/normaldotcom/canable2-fw.git',
  manufacturerName: 'Openlight Labs',
  presets: [...LAWICEL_PRESETS, 83_333],
  versionReply: 'b158aa7 github.com/normaldotcom/canable2-fw.git',
  automaticBusOffRecovery: false,
  commandBufferBytes: 155,
  txBufferBytes: 4096,
};

export const NAKAKIYO_FLAVOUR: SlcanFlavour = {
  name: 'CANable 2.0 Nakakiyo slcan',
  firmware: 'nakakiyo',
  usbVendorId: 0x16d0,
  usbProductId: 0x117e,
  productName: 'CANable2 slcan',
  manufacturerName: 'Openlight Labs',
  acknowledges: true,
  repliesToClose: true,
  presets: LAWICEL_PRESETS,
  listenOnly: 'L',
  timestampModes: ['Z1', 'Z2'],
  statusFlags: 'nakakiyo',
  statusOnlyWhenOpen: true,
  versionReply: 'VL2K4',
  automaticBusOffRecovery: false,
  lfSpoilsCommand: true,
  commandBufferBytes: 166,
  txBufferBytes: 8192,
  refusesOpenWhenOpen: true,
};

export const ELMUE_FLAVOUR: SlcanFlavour = {
  ...NAKAKIYO_FLAVOUR,
  name: 'CANable 2.5 (Elmue) slcan',
  firmware: 'elmue',
  productName: 'CANable 2.5 Slcan',
  repliesToClose: false,
  timestampModes: [],
  statusFlags: undefined,
  versionReply: 'V2.5 CANable 2.5 Slcan',
};

export const USBTIN_FLAVOUR: SlcanFlavour = {
  name: 'USBtin',
  firmware: 'usbtin',
  usbVendorId: 0x04d8,
  usbProductId: 0x000a,
  productName: 'USBtin',
  manufacturerName: 'Microchip Technology, Inc.',
  acknowledges: true,
  repliesToClose: true,
  presets: LAWICEL_PRESETS,
  listenOnly: 'L',
  timestampModes: ['Z1'],
  statusFlags: 'usbtin',
  statusOnlyWhenOpen: false,
  versionReply: 'V0100',
  automaticBusOffRecovery: false,
  lfSpoilsCommand: false,
  commandBufferBytes: 100,
  txBufferBytes: 2048,
  refusesOpenWhenOpen: true,
};

export const LAWICEL_CANUSB_FLAVOUR: SlcanFlavour = {
  ...USBTIN_FLAVOUR,
  name: 'Lawicel CANUSB',
  firmware: 'lawicel',
  usbVendorId: 0x0403,
  usbProductId: 0x6001,
  productName: 'CANUSB',
  manufacturerName: 'LAWICEL',
  statusFlags: 'lawicel',
  versionReply: 'V1013',
  lfSpoilsCommand: true,
};

/** Every flavour, for tests that run across all of them. */
export const SLCAN_FLAVOURS: readonly SlcanFlavour[] = [
  CANABLE1_STOCK_FLAVOUR,
  CANABLE2_STOCK_FLAVOUR,
  NAKAKIYO_FLAVOUR,
  ELMUE_FLAVOUR,
  USBTIN_FLAVOUR,
  LAWICEL_CANUSB_FLAVOUR,
];


const USB_FRAME_NS = 1_000_000;
const USB_PACKET_BYTES = 64;
/** Full-speed bulk: at most 19 packets of 64 bytes in one 1 ms frame. */
const MAX_PACKETS_PER_FRAME = 19;

export interface SlcanAdapterOptions {
  flavour?: SlcanFlavour;
  serialNumber?: string;
  /**
   * How the bytes of one USB frame reach the page: whole 64-byte packets ('usb'), or cut at
   * random places (seeded), as an operating system's serial buffer may hand them over.
   */
  packets?: 'usb' | { readonly randomCutsSeed: number };
  /** Offset of the firmware's clock, so stamps do not start at zero. */
  clockOffsetNs?: number;
  /** USB options of the CDC view (a kernel driver holding the interfaces, as on Linux or Windows). */
  usb?: UsbDeviceEmulatorOptions;
}

export interface SlcanAdapterStats {
  framesToBus: number;
  framesFromBus: number;
  /** Frames from the host the adapter did not put on the bus (closed, listen-only, bus-off, wrong bit rate). */
  framesDropped: number;
  /** Frames from the bus the adapter dropped because its buffer toward the host was full. */
  framesOverflowed: number;
  commandsRefused: number;
  /** Commands cut short because they were longer than the firmware's buffer. */
  commandsTooLong: number;
  bytesToHost: number;
}

type Mode = 'closed' | 'open' | 'listen';

export class SlcanAdapterEmulator {
  /** The adapter as Web Serial sees it. */
  readonly port: EmulatedSerialPort;
  /** The same adapter as WebUSB sees it: a CDC-ACM device. */
  readonly usb: UsbDeviceEmulator;
  readonly flavour: SlcanFlavour;
  readonly controller = new EmulatedCanController();
  /** The last commands the host sent, as the firmware read them (up to 500). */
  readonly commandLog: string[] = [];
  readonly stats: SlcanAdapterStats = { framesToBus: 0, framesFromBus: 0, framesDropped: 0, framesOverflowed: 0, commandsRefused: 0, commandsTooLong: 0, bytesToHost: 0 };

  #scheduler: EventScheduler;
  #bus: VirtualCanBus;
  #node: BusNode;
  #cdc: CdcAcmFunction;
  #random: (() => number) | undefined;
  #clockOffsetNs: number;
  #command: number[] = [];
  #commandOverflow = false;
  #bitrate = 0;
  #mode: Mode = 'closed';
  #silent = false;
  #timestamps: 'off' | 'ms' | 'us' = 'off';
  #flags = 0;
  #outbox: number[] = [];
  /** Frames waiting for the controller; one at a time goes to the bus, so they leave in order. */
  #txQueue: CanFrame[] = [];
  #txInFlight = false;
  #flushScheduled = false;
  #recoveryCancel: (() => void) | undefined;

  constructor(scheduler: EventScheduler, bus: VirtualCanBus, options: SlcanAdapterOptions = {}) {
    this.#scheduler = scheduler;
    this.#bus = bus;
    this.flavour = options.flavour ?? USBTIN_FLAVOUR;
    this.#clockOffsetNs = options.clockOffsetNs ?? 0;
    const packets = options.packets ?? 'usb';
    this.#random = packets === 'usb' ? undefined : seededRandom(packets.randomCutsSeed);
    this.#node = this.#joinBus();
    this.controller.listen({ state: (state) => this.#stateChanged(state), busError: () => (this.#flags |= this.#errorFlag()) });
    const device = {
      fromHost: (bytes: Uint8Array) => this.#fromHost(bytes),
      hostOpened: () => undefined,
      powerLost: () => this.#powerLost(),
    };
    this.port = new EmulatedSerialPort(device, { usbVendorId: this.flavour.usbVendorId, usbProductId: this.flavour.usbProductId });
    this.#cdc = new CdcAcmFunction(device);
    this.usb = new UsbDeviceEmulator(
      {
        vendorId: this.flavour.usbVendorId,
        productId: this.flavour.usbProductId,
        serialNumber: options.serialNumber ?? '2050365B4E43',
        productName: this.flavour.productName,
        manufacturerName: this.flavour.manufacturerName,
      },
      this.#cdc,
      options.usb,
    );
  }

  get mode(): Mode {
    return this.#mode;
  }

  get bitrate(): number {
    return this.#bitrate;
  }

  /** Listen-only by either route (`L`, or `M1` then `O`). */
  get listening(): boolean {
    return this.#mode === 'listen' || (this.#mode === 'open' && this.#silent);
  }

  get timestampMode(): 'off' | 'ms' | 'us' {
    return this.#timestamps;
  }

  /** Pulls the cable of whichever view the host uses. */
  unplug(): void {
    this.port.unplug();
    this.usb.unplug();
  }

  replug(): void {
    this.port.replug();
    this.usb.replug();
  }

  /** The firmware's clock, in ns. */
  #clockNs(atNs: number): number {
    return atNs + this.#clockOffsetNs;
  }

  /** Power loss: the adapter forgets its configuration, like the real ones. */
  #powerLost(): void {
    this.#mode = 'closed';
    this.#silent = false;
    this.#timestamps = 'off';
    this.#bitrate = 0;
    this.#flags = 0;
    this.#outbox = [];
    this.#txQueue = [];
    this.#command = [];
    this.#commandOverflow = false;
    this.#recoveryCancel?.();
    this.#leaveBus();
    this.controller.stop();
  }

  #fromHost(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (byte === 0x0d) {
        const text = String.fromCharCode(...this.#command);
        const overflowed = this.#commandOverflow;
        this.#command = [];
        this.#commandOverflow = false;
        if (overflowed) {
          // canable-fw resets its index when the buffer overflows: the tail is read as a command.
          this.stats.commandsTooLong++;
          this.#reply(false);
          continue;
        }
        this.#execute(text);
      } else if (byte === 0x0a && !this.flavour.lfSpoilsCommand) {
        // USBtin skips LF.
      } else if (this.#command.length >= this.flavour.commandBufferBytes) {
        this.#commandOverflow = true;
      } else {
        this.#command.push(byte);
      }
    }
  }

  #execute(text: string): void {
    this.commandLog.push(text);
    if (this.commandLog.length > 500) this.commandLog.shift();
    const letter = text[0];
    const f = this.flavour;
    switch (letter) {
      case undefined:
        return this.#reply(f.firmware !== 'nakakiyo'); // a bare CR: many hosts send one to flush
      case 'S': {
        const index = Number.parseInt(text.slice(1), 16);
        const preset = f.presets[index];
        if (this.#mode !== 'closed' || text.length !== 2 || preset === undefined) return this.#reply(false);
        this.#bitrate = preset;
        return this.#reply(true);
      }
      case 'O':
        if (this.#mode !== 'closed') return f.refusesOpenWhenOpen ? this.#reply(false) : this.#reply(true);
        if (this.#bitrate === 0 || text.length !== 1) return this.#reply(false);
        return this.#open('open');
      case 'L':
        if (f.firmware === 'elmue') return void this.#send('L0\r'); // Elmue: a bus-load report, not listen-only
        if (f.listenOnly !== 'L' || this.#mode !== 'closed' || this.#bitrate === 0 || text.length !== 1) return this.#reply(false);
        return this.#open('listen');
      case 'M':
      case 'm':
        if (f.listenOnly === 'M1') {
          // Stock CANable: M0/M1 (and m) set normal/silent mode; nonstandard, no reply.
          this.#silent = text[1] === '1';
          return;
        }
        // LAWICEL: acceptance code/mask, 8 hex digits, only while closed.
        return this.#reply(this.#mode === 'closed' && /^[Mm][0-9A-Fa-f]{8}$/.test(text));
      case 'A':
        return f.listenOnly === 'M1' ? undefined : this.#reply(false);
      case 'C':
        if (this.#mode === 'closed') {
          if (f.repliesToClose) this.#reply(f.firmware === 'usbtin' || f.firmware === 'nakakiyo' ? false : true);
          return;
        }
        this.#close();
        if (f.repliesToClose) this.#reply(true);
        return;
      case 'Z': {
        const mode = text.slice(0, 2);
        if (text.length !== 2 || this.#mode !== 'closed') return this.#reply(false);
        if (mode === 'Z0' && f.timestampModes.length > 0) {
          this.#timestamps = 'off';
          return this.#reply(true);
        }
        if ((mode === 'Z1' || mode === 'Z2') && f.timestampModes.includes(mode)) {
          this.#timestamps = mode === 'Z1' ? 'ms' : 'us';
          return this.#reply(true);
        }
        return this.#reply(false);
      }
      case 'V':
        return void this.#send(`${f.versionReply}\r`);
      case 'N':
        if (f.acknowledges) this.#send('NWW01\r');
        return;
      case 'F':
        if (!f.statusFlags) return f.firmware === 'elmue' ? this.#reply(true) : this.#reply(false);
        if (f.statusOnlyWhenOpen && this.#mode === 'closed') return this.#reply(false);
        this.#send(`F${this.#statusFlags().toString(16).toUpperCase().padStart(2, '0')}\r`);
        if (f.statusFlags !== 'usbtin') this.#flags = 0; // cleared on read
        return;
      case 't':
      case 'T':
      case 'r':
      case 'R':
        return this.#transmitCommand(text);
      default:
        return this.#reply(false);
    }
  }

  #open(mode: 'open' | 'listen'): void {
    this.#mode = mode;
    this.#flags = 0;
    this.controller.start();
    this.#reply(true);
  }

  #close(): void {
    this.#mode = 'closed';
    this.#txQueue = [];
    this.#leaveBus();
    this.#recoveryCancel?.();
    this.controller.stop();
  }

  #transmitCommand(text: string): void {
    const parsed = parseFrameLine(text);
    const refused = parsed.kind !== 'frame' || parsed.timestamp !== undefined || this.#mode !== 'open' || this.#silent || !this.controller.active;
    if (refused) {
      this.stats.framesDropped++;
      return this.#reply(false);
    }
    this.#transmit(parsed.frame);
    if (this.flavour.acknowledges) this.#send(parsed.frame.extended ? 'Z\r' : 'z\r');
  }

  #joinBus(): BusNode {
    const node = this.#bus.attach(`slcan adapter (${this.flavour.name})`);
    node.onReceive = (frame, endTimeNs) => this.#fromBus(frame, endTimeNs);
    node.onTransmitted = () => {
      this.#txInFlight = false;
      this.controller.transmitted();
      this.#nextTransmit();
    };
    return node;
  }

  /** Bus-off, or the channel closed: the controller leaves the bus, a frame it was sending is lost. */
  #leaveBus(): void {
    if (!this.#txInFlight) return;
    this.#node.detach();
    this.#txInFlight = false;
    this.#node = this.#joinBus();
  }

  #transmit(frame: CanFrame): void {
    if (this.#bitrate !== this.#bus.bitrate) {
      // A node at the wrong bit rate only disturbs the bus; the frame never arrives anywhere.
      this.stats.framesDropped++;
      return;
    }
    this.#txQueue.push(frame);
    this.#nextTransmit();
  }

  #nextTransmit(): void {
    if (this.#txInFlight || !this.controller.active) return;
    const frame = this.#txQueue.shift();
    if (!frame) return;
    this.#txInFlight = true;
    this.stats.framesToBus++;
    this.#node.send(frame);
  }

  #fromBus(frame: CanFrame, endTimeNs: number): void {
    if (this.#mode === 'closed' || this.#bitrate !== this.#bus.bitrate || !this.controller.active) return;
    this.controller.received();
    let line = encodeFrame(frame).slice(0, -1);
    const clock = this.#clockNs(endTimeNs);
    if (this.#timestamps === 'ms') line += hex(Math.floor(clock / 1e6) % 60_000, 4);
    else if (this.#timestamps === 'us') line += hex(Math.floor(clock / 1e3) % 0xd693a400, 8);
    if (!this.#send(`${line}\r`)) {
      this.stats.framesOverflowed++;
      this.#flags |= this.#overflowFlag();
      return;
    }
    this.stats.framesFromBus++;
  }

  #statusFlags(): number {
    let flags = this.#flags;
    const state = this.controller.state;
    if (state === 'error-warning' || state === 'error-passive' || state === 'bus-off') flags |= 0x04;
    if (state === 'error-passive' || (state === 'bus-off' && this.flavour.statusFlags !== 'usbtin')) flags |= 0x20;
    if (state === 'bus-off' && this.flavour.statusFlags === 'usbtin') flags |= 0x80;
    return flags;
  }

  #overflowFlag(): number {
    return this.flavour.statusFlags === 'nakakiyo' ? 0x02 : 0x08;
  }

  #errorFlag(): number {
    return this.flavour.statusFlags === 'usbtin' ? 0 : 0x80;
  }

  #stateChanged(state: string): void {
    if (state === 'bus-off') {
      this.#txQueue = [];
      this.#leaveBus();
      if (this.flavour.automaticBusOffRecovery) {
        const delayNs = (BUS_OFF_RECOVERY_BITS * 1e9) / this.#bus.bitrate;
        this.#recoveryCancel = this.#scheduler.after(delayNs, () => {
          this.#recoveryCancel = undefined;
          this.controller.recover();
        });
      }
    } else if (state === 'error-active') {
      this.#nextTransmit();
    }
  }

  #reply(ok: boolean): void {
    if (!ok) this.stats.commandsRefused++;
    if (this.flavour.acknowledges) this.#send(ok ? '\r' : '\x07');
  }

  /** Queues bytes for the host; false (nothing queued) when the transmit buffer cannot hold them. */
  #send(text: string): boolean {
    if (this.#outbox.length + text.length > this.flavour.txBufferBytes) return false;
    for (let i = 0; i < text.length; i++) this.#outbox.push(text.charCodeAt(i));
    this.#scheduleFlush();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const now = this.#scheduler.now;
    this.#scheduler.at((Math.floor(now / USB_FRAME_NS) + 1) * USB_FRAME_NS, () => this.#flush());
  }

  /** One USB frame: as many packets as the host takes, at most 19, cut wherever the boundary falls. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outbox.length === 0) return;
    const budget = MAX_PACKETS_PER_FRAME * USB_PACKET_BYTES;
    if (this.#cdc.ready) {
      const bytes = this.#outbox.splice(0, budget);
      this.#cdc.submit(Uint8Array.from(bytes));
      this.stats.bytesToHost += bytes.length;
    } else if (this.port.isOpen) {
      // Whole packets only: the browser takes a packet when it has room for it.
      const room = Math.min(budget, this.port.space);
      let sent = 0;
      while (sent < room && this.#outbox.length > 0) {
        const size = this.#random ? 1 + Math.floor(this.#random() * USB_PACKET_BYTES) : USB_PACKET_BYTES;
        const chunk = this.#outbox.splice(0, Math.min(size, room - sent));
        this.port.deliver(Uint8Array.from(chunk));
        sent += chunk.length;
      }
      this.stats.bytesToHost += sent;
    }
    // Nobody reads, or the host is behind: the rest waits for the next frame.
    if (this.#outbox.length > 0) this.#scheduleFlush();
  }
}

function hex(value: number, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}
