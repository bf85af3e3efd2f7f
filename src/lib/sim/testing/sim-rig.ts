/**
 * A simulated bus for Node tests: virtual bus, slcan adapter, meters running the real wasm core,
 * and the app's slcan driver on top. Time is virtual; `settle` lets both clocks move.
 */
import { readFileSync } from 'node:fs';
import { openSlcanTransport } from '../../can/slcan/serial-transport';
import type { CanTransport } from '../../can/transport';
import { compileMeterCore } from '../meter-core';
import { EventScheduler } from '../scheduler';
import { memoryNvStore, type NvStore } from '../nv-store';
import { SimulatedMeter } from '../simulated-meter';
import { SlcanAdapterEmulator } from '../slcan-adapter';
import { VirtualCanBus } from '../virtual-bus';
import type { MeterSpec } from '../scenarios';
import { ephemeralSite, type SiteCredentials } from '../../aggregator/site';

/** The site key of simulated test buses. */
export const TEST_SITE_KEY = new Uint8Array(32).fill(0x5e);

let module: Promise<WebAssembly.Module> | undefined;

/** The meter core as `npm run wasm` built it. */
export function meterCoreModule(): Promise<WebAssembly.Module> {
  module ??= compileMeterCore(readFileSync(new URL('../../../../firmware/build/wasm/meter.wasm', import.meta.url)));
  return module;
}

export interface SimRig {
  readonly scheduler: EventScheduler;
  readonly bus: VirtualCanBus;
  readonly adapter: SlcanAdapterEmulator;
  readonly meters: SimulatedMeter[];
  readonly transport: CanTransport;
  /** The aggregator's credentials for this site (memory stores). */
  readonly site: SiteCredentials;
  /** The meters' flash: a meter created again on a node boots from what the last one left. */
  readonly nv: NvStore;
  /** Puts a (new, or rebooted) meter on the bus, provisioned for this site. */
  addMeter(spec: MeterSpec): SimulatedMeter;
  /** Virtual milliseconds, for the app's clocks. */
  readonly nowMs: () => number;
  /**
   * Advances virtual time by `ms` in steps of `stepMs`, letting the streams run between steps;
   * the app's clocks read virtual time, so `stepMs` is also their resolution.
   */
  run(ms: number, stepMs?: number): Promise<void>;
}

// setImmediate, not setTimeout: it lets every stream move without a 1 ms timer floor per step.
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `startMs`: the wall-clock time (ms since the epoch) virtual time 0 stands for, so that the app's
 * clocks, the TIME broadcast and the meters' aggregates carry real dates.
 */
export async function simRig(specs: readonly MeterSpec[], bitrate = 125_000, startMs = 0): Promise<SimRig> {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate });
  const adapter = new SlcanAdapterEmulator(scheduler, bus);
  const core = await meterCoreModule();
  const nv = memoryNvStore();
  const addMeter = (s: MeterSpec) => new SimulatedMeter(core, scheduler, bus, { nodeId: s.nodeId, name: s.name, load: s.load, siteKey: TEST_SITE_KEY, nvStore: nv });
  const meters = specs.map(addMeter);
  const site = await ephemeralSite(TEST_SITE_KEY);
  const nowMs = () => startMs + scheduler.now / 1e6;
  const transport = await openSlcanTransport(adapter.port, { bitrate, now: nowMs });
  const run = async (ms: number, stepMs = 2) => {
    const end = scheduler.now + ms * 1e6;
    while (scheduler.now < end) {
      scheduler.advanceTo(Math.min(end, scheduler.now + stepMs * 1e6));
      await macrotask();
    }
  };
  return { scheduler, bus, adapter, meters, transport, site, nv, addMeter, nowMs, run };
}
