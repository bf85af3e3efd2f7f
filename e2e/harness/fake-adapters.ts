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
import { keyValueNvStore, SimulatedMeter } from '../../src/lib/sim/simulated-meter';
import { SLCAN_FLAVOURS, SlcanAdapterEmulator } from '../../src/lib/sim/slcan-adapter';
import { GS_USB_FLAVOURS, GsUsbAdapterEmulator } from '../../src/lib/sim/gs-usb-adapter';
import { EmulatedSerialApi, EmulatedUsbApi } from '../../src/lib/sim/emulated-navigator';
import type { BusErrorKind } from '../../src/lib/can/transport';

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
  /** `count` errors while the adapter transmitted (TEC + 8 each); 32 make it bus-off. */
  transmitErrors(count: number, kind?: BusErrorKind): void;
  readonly controllerState: string;
  /** The relay of the simulated meter on `node` (undefined: no such meter). */
  relayOf(node: number): boolean | undefined;
  /** What a meter's load draws from now on (the kettle is switched on), when its relay is closed. */
  setDraw(node: number, draw: Draw): void;
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
    transmitErrors: (count, errorKind = 'bit') => adapter.controller.transmitErrors(count, errorKind),
    get controllerState() {
      return adapter.controller.state;
    },
    relayOf: (node) => meters.get(node)?.core.relayOn,
    setDraw: (node, draw) => meters.get(node)?.setLoad(constant(draw)),
  };
  window.__fakeAdapter = handle;
  window.__fakeSerial = handle;
}

if (window.__fakeAdapterConfig) install(window.__fakeAdapterConfig);
