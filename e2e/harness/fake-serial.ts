/**
 * A fake `navigator.serial` for end-to-end tests: its one port is the slcan adapter emulator on a
 * virtual CAN bus with simulated meters running the firmware core. The app reaches it through its
 * real Web Serial code path (requestPort → open → slcan).
 *
 * The test passes a FakeSerialConfig through `window.__fakeSerialConfig` (an earlier init script),
 * then drives the bus through `window.__fakeSerial`.
 */
import { DemoBus } from '../../src/lib/sim/demo-bus';
import { compileMeterCore } from '../../src/lib/sim/meter-core';
import { keyValueNvStore } from '../../src/lib/sim/simulated-meter';
import { constant, type Draw } from '../../src/lib/sim/waveforms';
import { fromHex } from '../../src/lib/meter/keys';
import type { EmulatedSerialPort } from '../../src/lib/sim/emulated-serial-port';

export interface FakeSerialConfig {
  /** The meter core, base64: the test reads firmware/build/wasm/meter.wasm. */
  readonly wasmBase64: string;
  readonly bitrate: number;
  /** Hex site key the meters were provisioned with; the test gives the app the same one. */
  readonly siteKeyHex: string;
  readonly meters: readonly { readonly nodeId: number; readonly name: string; readonly draw: Draw }[];
  /** getPorts() already lists the port, as after an earlier visit. */
  readonly granted?: boolean;
}

export interface FakeSerialHandle {
  /** Resolves once the app has asked for a port and the bus is running. */
  readonly ready: Promise<DemoBus>;
  readonly requests: number;
  unplug(): void;
  replug(): void;
  /** The relay of the simulated meter on `node` (undefined: no such meter). */
  relayOf(node: number): boolean | undefined;
  /** What a meter's load draws from now on (the kettle is switched on), when its relay is closed. */
  setDraw(nodeId: number, draw: Draw): void;
}

declare global {
  interface Window {
    __fakeSerialConfig?: FakeSerialConfig;
    __fakeSerial?: FakeSerialHandle;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function install(config: FakeSerialConfig): void {
  const events = new EventTarget();
  let bus: DemoBus | undefined;
  let resolveReady: (bus: DemoBus) => void = () => undefined;
  const ready = new Promise<DemoBus>((resolve) => (resolveReady = resolve));
  let requests = 0;

  async function port(): Promise<EmulatedSerialPort> {
    if (!bus) {
      const module = await compileMeterCore(decodeBase64(config.wasmBase64));
      bus = new DemoBus({
        module,
        bitrate: config.bitrate,
        scenario: { meters: config.meters.map((m) => ({ nodeId: m.nodeId, name: m.name, load: constant(m.draw) })), script: [] },
        siteKey: fromHex(config.siteKeyHex),
        // A reload is a power cut for the simulated meters too: their flash survives it.
        nvStore: keyValueNvStore(localStorage, 'wattwall.e2e.meter-nv'),
      });
      const p = bus.port;
      // navigator.serial fires connect/disconnect for granted ports.
      p.addEventListener('connect', () => events.dispatchEvent(Object.assign(new Event('connect'), { port: p })));
      p.addEventListener('disconnect', () => events.dispatchEvent(Object.assign(new Event('disconnect'), { port: p })));
      bus.start();
      resolveReady(bus);
    }
    return bus.port;
  }

  const serial = {
    async requestPort(): Promise<EmulatedSerialPort> {
      requests++;
      return port();
    },
    async getPorts(): Promise<EmulatedSerialPort[]> {
      return config.granted || bus ? [await port()] : [];
    },
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    dispatchEvent: events.dispatchEvent.bind(events),
    onconnect: null,
    ondisconnect: null,
  };
  Object.defineProperty(Navigator.prototype, 'serial', { configurable: true, get: () => serial });

  window.__fakeSerial = {
    ready,
    get requests() {
      return requests;
    },
    unplug: () => bus?.port.unplug(),
    replug: () => bus?.port.replug(),
    relayOf: (node) => bus?.meter(node)?.core.relayOn,
    setDraw: (nodeId, draw) => bus?.meter(nodeId)?.setLoad(constant(draw)),
  };
}

if (window.__fakeSerialConfig) install(window.__fakeSerialConfig);
