/**
 * The demo bus: simulated meters running the firmware core on a bit-timed virtual CAN bus, behind
 * an emulated slcan adapter whose serial port the app opens with its real driver.
 */
import { RealTimePacer, EventScheduler } from './scheduler';
import { VirtualCanBus } from './virtual-bus';
import type { NvStore } from './nv-store';
import { SimulatedMeter } from './simulated-meter';
import { type SlcanFlavour, SlcanAdapterEmulator } from './slcan-adapter';
import type { Scenario } from './scenarios';

export interface DemoBusOptions {
  readonly module: WebAssembly.Module;
  readonly scenario: Scenario;
  /** The site key the meters were provisioned with. */
  readonly siteKey: Uint8Array;
  /** Where the meters keep their flash; by default it lives as long as the bus. */
  readonly nvStore?: NvStore;
  readonly bitrate?: number;
  /** Simulated seconds per real second. */
  readonly speed?: number;
  readonly flavour?: SlcanFlavour;
}

export class DemoBus {
  readonly scheduler = new EventScheduler();
  readonly bus: VirtualCanBus;
  readonly adapter: SlcanAdapterEmulator;
  readonly meters: SimulatedMeter[];
  readonly pacer: RealTimePacer;

  constructor(options: DemoBusOptions) {
    this.bus = new VirtualCanBus(this.scheduler, { bitrate: options.bitrate ?? 125_000 });
    this.adapter = new SlcanAdapterEmulator(this.scheduler, this.bus, options.flavour ? { flavour: options.flavour } : {});
    this.meters = options.scenario.meters.map(
      (spec) =>
        new SimulatedMeter(options.module, this.scheduler, this.bus, {
          nodeId: spec.nodeId,
          name: spec.name,
          load: spec.load,
          siteKey: options.siteKey,
          ...(options.nvStore ? { nvStore: options.nvStore } : {}),
        }),
    );
    for (const event of options.scenario.script) {
      const meter = this.meter(event.nodeId);
      if (!meter) throw new Error(`scenario script names meter ${event.nodeId}, which is not on the bus`);
      this.scheduler.at(event.atSeconds * 1e9, () => meter.setLoad(event.load));
    }
    // Slices of 10 ms: catching up after the page's own busy moments (its start, a chart drawn)
    // stays in short tasks, so the demo never makes the screen unresponsive.
    this.pacer = new RealTimePacer(this.scheduler, { speed: options.speed ?? 1, maxSliceMs: 10 });
  }

  get port() {
    return this.adapter.port;
  }

  meter(nodeId: number): SimulatedMeter | undefined {
    return this.meters.find((m) => m.nodeId === nodeId);
  }

  start(): void {
    this.pacer.start();
  }

  stop(): void {
    this.pacer.stop();
  }
}
