/**
 * An slcan USB-CAN adapter on the virtual bus, seen by the host as a serial port.
 *
 * It speaks LAWICEL as the firmwares in shared/reference/can-adapters.md §1.4 do, with their
 * differences as a `flavour`: whether commands are acknowledged, what S7 means, whether received
 * frames carry a timestamp. Bytes to the host leave in 64-byte USB packets on 1 ms frame
 * boundaries, so the host sees lines cut and joined as real full-speed USB delivers them.
 */
import { parseFrameLine, SlcanTokenizer } from '../can/slcan/codec';
import type { CanFrame } from '../can/frame';
import { encodeFrame } from '../can/slcan/codec';
import { EmulatedSerialPort } from './emulated-serial-port';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';

export interface SlcanFlavour {
  readonly name: string;
  /** CR / BELL / z replies to commands (stock CANable firmware sends none). */
  readonly acknowledges: boolean;
  /** Bit rate of the S7 preset. */
  readonly s7Bitrate: number;
  /** Received frames carry a 4-hex-digit millisecond stamp (wrapping at 60 000) when enabled with Z1. */
  readonly supportsTimestamps: boolean;
  readonly version: string;
}

export const LAWICEL_FLAVOUR: SlcanFlavour = {
  name: 'Lawicel-compatible (CANable 2.0 Nakakiyo, USBtin)',
  acknowledges: true,
  s7Bitrate: 800_000,
  supportsTimestamps: true,
  version: 'V1013',
};

export const STOCK_CANABLE_FLAVOUR: SlcanFlavour = {
  name: 'CANable 1.0 stock firmware',
  acknowledges: false,
  s7Bitrate: 750_000,
  supportsTimestamps: false,
  version: 'Vcanable-emulated',
};

const PRESETS = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 0, 1_000_000];
const USB_FRAME_NS = 1_000_000;
const USB_PACKET_BYTES = 64;

export interface SlcanAdapterOptions {
  flavour?: SlcanFlavour;
  serialNumber?: string;
  usbVendorId?: number;
  usbProductId?: number;
}

export interface SlcanAdapterStats {
  framesToBus: number;
  framesFromBus: number;
  /** Frames the adapter could not pass on (closed, wrong bit rate, listen-only transmit). */
  framesDropped: number;
  commandsRefused: number;
}

export class SlcanAdapterEmulator {
  readonly port: EmulatedSerialPort;
  readonly flavour: SlcanFlavour;
  readonly stats: SlcanAdapterStats = { framesToBus: 0, framesFromBus: 0, framesDropped: 0, commandsRefused: 0 };

  #scheduler: EventScheduler;
  #bus: VirtualCanBus;
  #node: BusNode;
  #tokenizer = new SlcanTokenizer();
  #bitrate = 0;
  #mode: 'closed' | 'open' | 'listen' = 'closed';
  #timestamps = false;
  #outbox: number[] = [];
  /** Frames waiting for the controller; one at a time goes to the bus, so they leave in order. */
  #txQueue: CanFrame[] = [];
  #txInFlight = false;
  #flushScheduled = false;

  constructor(scheduler: EventScheduler, bus: VirtualCanBus, options: SlcanAdapterOptions = {}) {
    this.#scheduler = scheduler;
    this.#bus = bus;
    this.flavour = options.flavour ?? LAWICEL_FLAVOUR;
    this.#node = bus.attach(`slcan adapter (${this.flavour.name})`);
    this.#node.onReceive = (frame, endTimeNs) => this.#fromBus(frame, endTimeNs);
    this.#node.onTransmitted = () => {
      this.#txInFlight = false;
      this.#nextTransmit();
    };
    this.port = new EmulatedSerialPort(
      {
        fromHost: (bytes) => this.#fromHost(bytes),
        hostOpened: (open) => {
          if (!open) this.#reset();
        },
      },
      {
        usbVendorId: options.usbVendorId ?? 0x16d0,
        usbProductId: options.usbProductId ?? 0x117e,
      },
    );
  }

  get mode(): 'closed' | 'open' | 'listen' {
    return this.#mode;
  }

  get bitrate(): number {
    return this.#bitrate;
  }

  /** Power loss on unplug: the adapter forgets its configuration, like the real ones. */
  #reset(): void {
    this.#mode = 'closed';
    this.#timestamps = false;
    this.#outbox = [];
    this.#txQueue = [];
    this.#tokenizer = new SlcanTokenizer();
  }

  #fromHost(bytes: Uint8Array): void {
    this.#tokenizer.push(bytes, (token) => {
      if (token.kind === 'line') this.#command(token.text);
      // A BELL or stray byte from the host is not a command; real firmwares ignore it.
    });
  }

  #command(text: string): void {
    const letter = text[0];
    switch (letter) {
      case undefined:
        return this.#reply(true); // empty line: many hosts send a bare CR to flush
      case 'S': {
        const index = Number(text.slice(1));
        const preset = index === 7 ? this.flavour.s7Bitrate : PRESETS[index];
        if (this.#mode !== 'closed' || text.length !== 2 || preset === undefined) return this.#reply(false);
        this.#bitrate = preset;
        return this.#reply(true);
      }
      case 'O':
      case 'L':
        if (this.#mode !== 'closed' || this.#bitrate === 0 || text.length !== 1) return this.#reply(false);
        this.#mode = letter === 'O' ? 'open' : 'listen';
        return this.#reply(true);
      case 'C':
        if (text.length !== 1) return this.#reply(false);
        this.#mode = 'closed';
        this.#txQueue = [];
        return this.#reply(true);
      case 'Z':
        if (!this.flavour.supportsTimestamps || this.#mode !== 'closed' || (text !== 'Z0' && text !== 'Z1')) return this.#reply(false);
        this.#timestamps = text === 'Z1';
        return this.#reply(true);
      case 'V':
        return this.#send(`${this.flavour.version}\r`);
      case 'N':
        return this.#send('NWW01\r');
      case 'F':
        return this.#send('F00\r');
      case 't':
      case 'T':
      case 'r':
      case 'R': {
        const parsed = parseFrameLine(text);
        if (parsed.kind !== 'frame' || parsed.timestamp || this.#mode !== 'open') {
          this.stats.framesDropped++;
          return this.#reply(false);
        }
        this.#transmit(parsed.frame);
        if (this.flavour.acknowledges) this.#send(parsed.frame.extended ? 'Z\r' : 'z\r');
        return;
      }
      default:
        return this.#reply(false);
    }
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
    if (this.#txInFlight) return;
    const frame = this.#txQueue.shift();
    if (!frame) return;
    this.#txInFlight = true;
    this.stats.framesToBus++;
    this.#node.send(frame);
  }

  #fromBus(frame: CanFrame, endTimeNs: number): void {
    if (this.#mode === 'closed' || this.#bitrate !== this.#bus.bitrate) return;
    this.stats.framesFromBus++;
    let line = encodeFrame(frame);
    if (this.#timestamps) {
      const ms = Math.floor(endTimeNs / 1e6) % 60_000;
      line = line.slice(0, -1) + ms.toString(16).toUpperCase().padStart(4, '0') + '\r';
    }
    this.#send(line);
  }

  #reply(ok: boolean): void {
    if (!ok) this.stats.commandsRefused++;
    if (this.flavour.acknowledges) this.#send(ok ? '\r' : '\x07');
  }

  #send(text: string): void {
    for (let i = 0; i < text.length; i++) this.#outbox.push(text.charCodeAt(i));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      const now = this.#scheduler.now;
      this.#scheduler.at((Math.floor(now / USB_FRAME_NS) + 1) * USB_FRAME_NS, () => this.#flush());
    }
  }

  /** One USB frame: as many 64-byte packets as the bytes need, cut wherever the boundary falls. */
  #flush(): void {
    this.#flushScheduled = false;
    while (this.#outbox.length > 0) {
      const packet = this.#outbox.splice(0, USB_PACKET_BYTES);
      this.port.deliver(Uint8Array.from(packet));
    }
  }
}
