/**
 * A fake `navigator.serial` and `navigator.usb` for end-to-end tests: behind them, one emulated
 * adapter (slcan as a serial port, slcan as a USB CDC-ACM device, or a gs_usb candleLight) on a
 * bit-timed virtual CAN bus with simulated meters running the firmware core. The app reaches it
 * through its real drivers (requestPort/requestDevice → open → slcan or gs_usb).
 *
 * The test passes a FakeAdapterConfig through `window.__fakeAdapterConfig` (an earlier init
 * script), then drives the bus through `window.__fakeAdapter`. An unsupported browser is one
 * where the config removes navigator.serial and/or navigator.usb.
 */
import { compileMeterCore } from '../../src/lib/sim/meter-core';
import { constant, type Draw } from '../../src/lib/sim/waveforms';
import { fromHex } from '../../src/lib/meter/keys';
import { EventScheduler, RealTimePacer } from '../../src/lib/sim/scheduler';
import { VirtualCanBus } from '../../src/lib/sim/virtual-bus';
import { keyValueNvStore } from '../../src/lib/sim/nv-store';
import { SimulatedMeter } from '../../src/lib/sim/simulated-meter';
import { SLCAN_FLAVOURS, SlcanAdapterEmulator } from '../../src/lib/sim/slcan-adapter';
import { GS_USB_FLAVOURS, GsUsbAdapterEmulator } from '../../src/lib/sim/gs-usb-adapter';
import { EmulatedSerialApi, EmulatedUsbApi } from '../../src/lib/sim/emulated-navigator';
import type { BusErrorKind } from '../../src/lib/can/transport';
import type { CanFrame } from '../../src/lib/can/frame';
import { canId, FunctionCode, splitId } from '../../src/lib/meter/ids';
import { deriveMeterKey } from '../../src/lib/meter/keys';
import { decodeEnergy, encodeEnergy, encodeSnapshot } from '../../src/lib/meter/records';
import { open, sealFrames } from '../../src/lib/meter/secure';
import { Reassembler } from '../../src/lib/meter/segmentation';
import { seededRandom } from '../../src/lib/sim/random';

/** One ENERGY record as it passed on the wire, verified with the meter's key (the test's own check). */
export interface WireEnergy {
  /** Virtual time on the bus, ms. */
  readonly busMs: number;
  /** The meter's clock (unix seconds) as the record carries it. */
  readonly timeS: number;
  readonly importMwh: number;
  readonly exportMwh: number;
  readonly boots: number;
  readonly epoch: number;
}

export type FakeAdapterKind = 'slcan-serial' | 'slcan-usb' | 'gs-usb';

export interface FakeAdapterConfig {
  /** The meter core, base64: the test reads firmware/build/wasm/meter.wasm. */
  readonly wasmBase64: string;
  readonly bitrate: number;
  /** Hex site key the meters were provisioned with; the test gives the app the same one. */
  readonly siteKeyHex: string;
  readonly meters: readonly { readonly nodeId: number; readonly name: string; readonly draw: Draw }[];
  /** Which adapter is plugged in (default: slcan as a serial port). */
  readonly adapter?: FakeAdapterKind;
  /** Name of the emulated firmware flavour (SLCAN_FLAVOURS / GS_USB_FLAVOURS); a default per kind otherwise. */
  readonly flavour?: string;
  /** The browser already granted the adapter, as after an earlier visit. */
  readonly granted?: boolean;
  /** The adapter is unplugged when the page loads. */
  readonly unpluggedAtStart?: boolean;
  /** Take navigator.serial / navigator.usb away, as browsers without them are. */
  readonly noSerial?: boolean;
  readonly noUsb?: boolean;
}

export interface FakeAdapterHandle {
  /** Resolves once the bus runs. */
  readonly ready: Promise<void>;
  /** How often the page opened the browser's picker. */
  readonly requests: number;
  unplug(): void;
  replug(): void;
  /** Unplugs the adapter 2 ms (bus time) after the next request leaves it: in the middle of a poll. */
  unplugMidPoll(): Promise<void>;
  /** `count` errors while the adapter transmitted (TEC + 8 each); 32 make it bus-off. */
  transmitErrors(count: number, kind?: BusErrorKind): void;
  readonly controllerState: string;
  /** The relay of the simulated meter on `node` (undefined: no such meter). */
  relayOf(node: number): boolean | undefined;
  /** What a meter's load draws from now on (the kettle is switched on), when its relay is closed. */
  setDraw(node: number, draw: Draw): void;
  /** Cuts (true) or mends (false) a meter's CAN cable: it keeps counting, nothing it sends arrives. */
  setOffBus(node: number, off: boolean): void;
  /** A power cut and restart of a meter: it boots from its flash (registers persisted per whole Wh). */
  reboot(node: number): void;
  /** Every genuine ENERGY record of a meter seen on the wire, in order (a sniffer next to the bus). */
  wireEnergy(node: number): WireEnergy[];
  /**
   * An intruder on the bus sends back the last `rounds` recorded SNAPSHOT and ENERGY messages of a
   * meter, back to back (as fast as the bus takes them); returns the frames sent.
   */
  replay(node: number, rounds: number): number;
  /** An intruder sends `count` SNAPSHOT and ENERGY messages in a meter's name, sealed with a wrong key. */
  forge(node: number, count: number): number;
  /** Garbage from the adapter towards the host (a glitching firmware, noise on the USB serial line). */
  garble(bytes: number, seed: number): void;
}

declare global {
  interface Window {
    __fakeAdapterConfig?: FakeAdapterConfig;
    __fakeAdapter?: FakeAdapterHandle;
    /** The older name, for tests written before WebUSB. */
    __fakeSerial?: FakeAdapterHandle;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function install(config: FakeAdapterConfig): void {
  const kind = config.adapter ?? 'slcan-serial';
  const serial = new EmulatedSerialApi();
  const usb = new EmulatedUsbApi();
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate: config.bitrate });
  let adapter: SlcanAdapterEmulator | GsUsbAdapterEmulator;
  if (kind === 'gs-usb') {
    const flavour = GS_USB_FLAVOURS.find((f) => f.name === config.flavour) ?? GS_USB_FLAVOURS[1];
    adapter = new GsUsbAdapterEmulator(scheduler, bus, flavour ? { flavour } : {});
    usb.add(adapter.usb, config.granted);
  } else {
    const flavour = SLCAN_FLAVOURS.find((f) => f.name === config.flavour) ?? SLCAN_FLAVOURS.find((f) => f.firmware === 'nakakiyo');
    adapter = new SlcanAdapterEmulator(scheduler, bus, flavour ? { flavour } : {});
    if (kind === 'slcan-serial') serial.add(adapter.port, config.granted);
    else usb.add(adapter.usb, config.granted);
  }
  if (config.unpluggedAtStart) adapter.unplug();
  const meters = new Map<number, SimulatedMeter>();

  // A sniffer and an intruder: one more node on the bus, hearing everything.
  const siteKey = fromHex(config.siteKeyHex);
  const intruder = bus.attach('intruder');
  const heard = new Map<number, CanFrame[][]>();
  const partial = new Map<number, CanFrame[]>();
  const wire = new Map<number, WireEnergy[]>();
  const lastFv = new Map<number, number>();
  const busMs = () => scheduler.now / 1e6;
  const reassembler = new Reassembler({ now: busMs });
  let midPoll: (() => void) | undefined;
  intruder.onReceive = (frame) => {
    if (frame.remote && midPoll) {
      const done = midPoll;
      midPoll = undefined;
      scheduler.after(2e6, () => {
        adapter.unplug();
        done();
      });
    }
    if (frame.remote || frame.extended) return;
    const { fn, node } = splitId(frame.id);
    if (fn !== FunctionCode.SNAPSHOT && fn !== FunctionCode.ENERGY) return;
    // Whole messages, kept for replays (the last few of each identifier).
    const frames = [...(partial.get(frame.id) ?? []), { ...frame, data: frame.data.slice() }];
    const last = (frame.data[0] ?? 0) & 0x0f;
    if ((frame.data[0] ?? 0) >> 4 === 0) frames.splice(0, frames.length - 1);
    if ((frame.data[0] ?? 0) >> 4 === last) {
      partial.delete(frame.id);
      const list = heard.get(frame.id) ?? [];
      list.push(frames);
      if (list.length > 8) list.shift();
      heard.set(frame.id, list);
    } else partial.set(frame.id, frames);
    if (fn !== FunctionCode.ENERGY) return;
    const meter = meters.get(node);
    if (!meter) return;
    for (const event of reassembler.push(frame)) {
      if (event.kind !== 'message') continue;
      const opened = open(deriveMeterKey(siteKey, meter.uid), event.id, event.body, lastFv.get(node) ?? 0);
      if (!opened.ok) continue;
      lastFv.set(node, opened.fv);
      const record = decodeEnergy(opened.payload);
      if (!record.ok) continue;
      const r = record.value;
      const list = wire.get(node) ?? [];
      list.push({ busMs: busMs(), timeS: r.timeS, importMwh: r.importMwh, exportMwh: r.exportMwh, boots: r.boots, epoch: r.epoch });
      wire.set(node, list);
    }
  };

  const ready = (async () => {
    const module = await compileMeterCore(decodeBase64(config.wasmBase64));
    // A reload is a power cut for the simulated meters too: their flash survives it.
    const nvStore = keyValueNvStore(localStorage, 'wattwall.e2e.meter-nv');
    for (const m of config.meters) {
      meters.set(m.nodeId, new SimulatedMeter(module, scheduler, bus, { nodeId: m.nodeId, name: m.name, load: constant(m.draw), siteKey: fromHex(config.siteKeyHex), nvStore }));
    }
    new RealTimePacer(scheduler).start();
  })();

  // The picker and the lists wait for the bus, as a real device is there before the page asks.
  const serialApi = {
    requestPort: async (options?: SerialPortRequestOptions) => {
      await ready;
      return serial.requestPort(options);
    },
    getPorts: async () => {
      await ready;
      return serial.getPorts();
    },
    addEventListener: serial.addEventListener.bind(serial),
    removeEventListener: serial.removeEventListener.bind(serial),
    dispatchEvent: serial.dispatchEvent.bind(serial),
    onconnect: null,
    ondisconnect: null,
  };
  const usbApi = {
    requestDevice: async (options: USBDeviceRequestOptions) => {
      await ready;
      return usb.requestDevice(options);
    },
    getDevices: async () => {
      await ready;
      return usb.getDevices();
    },
    addEventListener: usb.addEventListener.bind(usb),
    removeEventListener: usb.removeEventListener.bind(usb),
    dispatchEvent: usb.dispatchEvent.bind(usb),
    onconnect: null,
    ondisconnect: null,
  };
  if (config.noSerial) delete (Navigator.prototype as { serial?: unknown }).serial;
  else Object.defineProperty(Navigator.prototype, 'serial', { configurable: true, get: () => serialApi });
  if (config.noUsb) delete (Navigator.prototype as { usb?: unknown }).usb;
  else Object.defineProperty(Navigator.prototype, 'usb', { configurable: true, get: () => usbApi });

  const handle: FakeAdapterHandle = {
    ready,
    get requests() {
      return serial.requests + usb.requests;
    },
    unplug: () => adapter.unplug(),
    replug: () => adapter.replug(),
    unplugMidPoll: () => new Promise<void>((resolve) => (midPoll = resolve)),
    transmitErrors: (count, errorKind = 'bit') => adapter.controller.transmitErrors(count, errorKind),
    get controllerState() {
      return adapter.controller.state;
    },
    relayOf: (node) => meters.get(node)?.core.relayOn,
    setDraw: (node, draw) => meters.get(node)?.setLoad(constant(draw)),
    setOffBus: (node, off) => meters.get(node)?.setOffBus(off),
    reboot: (node) => meters.get(node)?.reboot(),
    wireEnergy: (node) => [...(wire.get(node) ?? [])],
    replay: (node, rounds) => {
      let sent = 0;
      for (let k = 0; k < rounds; k++) {
        for (const fn of [FunctionCode.SNAPSHOT, FunctionCode.ENERGY]) {
          const list = heard.get(canId(fn, node)) ?? [];
          const message = list[k % Math.max(1, list.length)];
          for (const frame of message ?? []) {
            intruder.send(frame);
            sent++;
          }
        }
      }
      return sent;
    },
    forge: (node, count) => {
      const wrongKey = new Uint8Array(32).fill(0xa5);
      let sent = 0;
      for (let k = 0; k < count; k++) {
        // A meter that draws 9.9 kW and whose registers jumped by 500 kWh, each with a high FV.
        const snapshot = encodeSnapshot({ timeS: 0, timeCs: 0, flags: 1, vrms: 23000, irms: 43000, p: 9_900_000, n: 0, pf: 10000, f: 50000, thdV: 0xffff, thdI: 0xffff });
        const energy = encodeEnergy({ timeS: 0, flags: 0, importMwh: 500_000_000 + k, exportMwh: 0, epoch: 0, boots: 1 });
        for (const [fn, payload] of [[FunctionCode.SNAPSHOT, snapshot], [FunctionCode.ENERGY, energy]] as const) {
          for (const frame of sealFrames(wrongKey, canId(fn, node), payload, 0x7fff0000 + k)) {
            intruder.send(frame);
            sent++;
          }
        }
      }
      return sent;
    },
    garble: (count, seed) => {
      if (!(adapter instanceof SlcanAdapterEmulator)) throw new Error('garbage on the line needs an slcan adapter');
      const random = seededRandom(seed);
      // Noise, cut lines, lines too long, bad hex and stray CRs, in USB-sized pieces.
      const pieces = ['t2018', 'tZZZ8', 'T1234567', '\r', '\x07', 't20', 'r201', 'F00\r', 't7ff9' + '00'.repeat(12)];
      const bytes: number[] = [];
      while (bytes.length < count) {
        if (random() < 0.5) bytes.push(Math.floor(random() * 256));
        else for (const c of pieces[Math.floor(random() * pieces.length)] ?? '') bytes.push(c.charCodeAt(0));
      }
      for (let i = 0; i < bytes.length; i += 64) adapter.port.deliver(Uint8Array.from(bytes.slice(i, i + 64)));
    },
  };
  window.__fakeAdapter = handle;
  window.__fakeSerial = handle;
}

if (window.__fakeAdapterConfig) install(window.__fakeAdapterConfig);
