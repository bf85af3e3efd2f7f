/**
 * A smart meter on the virtual bus: the firmware core (WebAssembly) fed by a simulated CVCT front
 * end and 12-bit ADC sampling a synthetic waveform, answering frames as the board would.
 */
import { memoryNvStore, type NvStore } from './nv-store';
import type { CanFrame } from '../can/frame';
import { buildConfigPage } from '../meter/config-page';
import { MeterCore } from './meter-core';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';
import {
  type Draw,
  EUROPEAN_SUPPLY,
  instantaneous,
  type LoadProfile,
  OFF,
  type Supply,
  supplyDisturbed,
  type Waveform,
  waveformOf,
} from './waveforms';
import { seededRandom } from './random';

/**
 * The paper's combined voltage/current transducer (CVCT): ±460√2 V and ±30√2 A map linearly onto
 * 0..3 V around 1.5 V, read by a 12-bit ADC with a 3.3 V reference.
 */
export interface AdcFrontEnd {
  readonly voltsPerCount: number;
  readonly ampsPerCount: number;
  /** Where zero volts and zero amps land, in counts: not exactly the nominal 1861.8. */
  readonly voltageOffset: number;
  readonly currentOffset: number;
  /** Standard deviation of the input noise, in counts. */
  readonly noiseCounts: number;
}

const COUNTS_PER_VOLT_AT_ADC = 4096 / 3.3;
export const CVCT_FRONT_END: AdcFrontEnd = {
  voltsPerCount: ((460 * Math.SQRT2) / 1.5) / COUNTS_PER_VOLT_AT_ADC,
  ampsPerCount: ((30 * Math.SQRT2) / 1.5) / COUNTS_PER_VOLT_AT_ADC,
  voltageOffset: (1.5 * COUNTS_PER_VOLT_AT_ADC) + 3.4,
  currentOffset: (1.5 * COUNTS_PER_VOLT_AT_ADC) - 2.7,
  noiseCounts: 0.6,
};

/** The meter's flash as far as the simulation keeps it: its nonvolatile state, by node. */
/** A simulated meter's 96-bit unique id: recognisable, and different for every node. */
export function simulatedUid(nodeId: number): Uint8Array {
  return Uint8Array.from([0x57, 0x57, 0x53, 0x49, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, nodeId]);
}

export interface SimulatedMeterOptions {
  readonly nodeId: number;
  readonly name: string;
  readonly load: LoadProfile;
  /** The site key its configuration page is derived from, as the provisioning tool would. */
  readonly siteKey: Uint8Array;
  readonly uid?: Uint8Array;
  readonly nvStore?: NvStore;
  readonly supply?: Supply;
  readonly frontEnd?: AdcFrontEnd;
  readonly sampleRate?: number;
  /**
   * The core analyses the harmonics of one 10-cycle window in this many (default 5: THD once a
   * second, what a once-a-second poll shows, and a simulated day runs in minutes; 1 = every window,
   * as the meter does).
   */
  readonly harmonicsEvery?: number;
  /** Samples per DMA half-buffer: the core runs once per block. */
  readonly blockSamples?: number;
  /** Time from the end of a received frame to the reply being queued (the CAN task's latency). */
  readonly responseDelayNs?: number;
  readonly seed?: number;
}

export class SimulatedMeter {
  readonly nodeId: number;
  readonly name: string;
  readonly uid: Uint8Array;
  readonly configPage: Uint8Array;
  #core: MeterCore;
  #module: WebAssembly.Module;
  #nvStore: NvStore;
  readonly supply: Supply;
  readonly frontEnd: AdcFrontEnd;
  readonly sampleRate: number;

  #load: LoadProfile;
  #scheduler: EventScheduler;
  readonly #bus: VirtualCanBus;
  #node: BusNode;
  #offBus = false;
  #block: Uint16Array;
  #samplesDone = 0;
  /** xorshift32 state of the ADC noise (never 0). */
  #noiseState: number;
  /** Scales the sum of two 16-bit uniforms minus its mean to the wanted standard deviation. */
  readonly #noiseScale: number;
  #responseDelayNs: number;
  readonly #harmonicsEvery: number;
  #stopSampling: () => void;
  #cycle: { readonly draw: Draw; readonly v: Float64Array; readonly i: Float64Array } | undefined;

  constructor(module: WebAssembly.Module, scheduler: EventScheduler, bus: VirtualCanBus, options: SimulatedMeterOptions) {
    this.nodeId = options.nodeId;
    this.name = options.name;
    this.#load = options.load;
    this.supply = options.supply ?? EUROPEAN_SUPPLY;
    this.frontEnd = options.frontEnd ?? CVCT_FRONT_END;
    this.sampleRate = options.sampleRate ?? 6400;
    this.#responseDelayNs = options.responseDelayNs ?? 150_000;
    this.#noiseState = (Math.floor(seededRandom(options.seed ?? options.nodeId * 7919)() * 0xffffffff) | 1) >>> 0;
    // Each uniform spans 0..65535 with variance 65536²/12: the sum's standard deviation is 65536/√6.
    this.#noiseScale = (this.frontEnd.noiseCounts * Math.sqrt(6)) / 65536;
    this.#scheduler = scheduler;
    this.#module = module;
    this.uid = options.uid ?? simulatedUid(options.nodeId);
    this.configPage = buildConfigPage(options.siteKey, this.uid, options.nodeId);
    this.#nvStore = options.nvStore ?? memoryNvStore();
    this.#harmonicsEvery = options.harmonicsEvery ?? 5;
    this.#core = new MeterCore(module, this.configPage, this.#nvStore.load(options.nodeId), { harmonicsEvery: this.#harmonicsEvery });
    this.#persist();
    const blockSamples = options.blockSamples ?? 64;
    this.#block = new Uint16Array(2 * blockSamples);
    // The board sets bxCAN's TXFP: frames leave in the order the core queued them, so the
    // aggregator sees this meter's freshness values strictly increasing.
    this.#bus = bus;
    this.#node = this.#joinBus();
    const blockNs = (blockSamples * 1e9) / this.sampleRate;
    // The DMA half-transfer interrupt: a block is processed once it has been fully sampled.
    this.#stopSampling = scheduler.every(blockNs, () => this.#sampleBlock(), scheduler.now + blockNs);
  }

  #joinBus(): BusNode {
    const node = this.#bus.attach(`meter ${this.nodeId} (${this.name})`, { order: 'fifo' });
    node.onReceive = (frame) => this.#receive(frame);
    return node;
  }

  /**
   * The meter's CAN cable is cut (true) or mended (false). It goes on measuring and counting;
   * what it would send meanwhile never reaches the bus.
   */
  setOffBus(off: boolean): void {
    if (off === this.#offBus) return;
    this.#offBus = off;
    if (off) this.#node.detach();
    else this.#node = this.#joinBus();
  }

  get offBus(): boolean {
    return this.#offBus;
  }

  get core(): MeterCore {
    return this.#core;
  }

  /** A power cut and restart: the core boots again from its configuration page and flash. */
  reboot(): void {
    this.#persist();
    this.#core = new MeterCore(this.#module, this.configPage, this.#nvStore.load(this.nodeId), { harmonicsEvery: this.#harmonicsEvery });
    this.#persist();
  }

  /** What the board does when the core marks its nonvolatile state dirty. */
  #persist(): void {
    const nv = this.#core.takeNv();
    if (nv) this.#nvStore.save(this.nodeId, nv);
  }

  /** What the load draws at simulation time `t` (s), given the meter's relay. */
  drawAt(t: number): Draw {
    return this.#core.relayOn ? this.#load(t) : OFF;
  }

  waveformAt(t: number): Waveform {
    return waveformOf(this.supply, this.drawAt(t));
  }

  /** Replaces the load's behaviour (a scenario step: the kettle is switched on). */
  setLoad(load: LoadProfile): void {
    this.#load = load;
  }

  #sampleBlock(): void {
    const fe = this.frontEnd;
    const count = this.#block.length / 2;
    const t0 = this.#samplesDone / this.sampleRate;
    // One draw per block: loads change far more slowly than 10 ms.
    const draw = this.drawAt(t0);
    // A dip or swell of the supply in this block is made sample by sample.
    const steady = !supplyDisturbed(this.supply, t0, (this.#samplesDone + count) / this.sampleRate);
    const cycle = steady ? this.#cycleTable(draw) : undefined;
    if (cycle) {
      const n = cycle.v.length;
      for (let k = 0, j = this.#samplesDone % n; k < count; k++, j = j + 1 === n ? 0 : j + 1) {
        this.#block[2 * k] = this.#adc(cycle.v[j] as number);
        this.#block[2 * k + 1] = this.#adc(cycle.i[j] as number);
      }
    } else {
      const waveform = waveformOf(this.supply, draw);
      for (let k = 0; k < count; k++) {
        const { v, i } = instantaneous(waveform, (this.#samplesDone + k) / this.sampleRate);
        this.#block[2 * k] = this.#adc(fe.voltageOffset + v / fe.voltsPerCount);
        this.#block[2 * k + 1] = this.#adc(fe.currentOffset + i / fe.ampsPerCount);
      }
    }
    this.#samplesDone += count;
    this.#core.feed(this.#block);
    this.#persist();
    this.#flushTx();
  }

  /**
   * One cycle of the front end's output (counts before noise and rounding) for a draw, when the
   * sample rate is a whole multiple of the supply frequency (6400 / 50 = 128): every cycle repeats
   * it exactly, so a long simulation computes the sines once per change of load, not per sample.
   */
  #cycleTable(draw: Draw): { readonly draw: Draw; readonly v: Float64Array; readonly i: Float64Array } | undefined {
    if (this.#cycle?.draw === draw) return this.#cycle;
    const period = this.sampleRate / this.supply.frequency;
    if (!Number.isInteger(period) || period > 8192) return undefined;
    const fe = this.frontEnd;
    const waveform = waveformOf({ ...this.supply, events: [] }, draw);
    const v = new Float64Array(period);
    const i = new Float64Array(period);
    for (let k = 0; k < period; k++) {
      const x = instantaneous(waveform, k / this.sampleRate);
      v[k] = fe.voltageOffset + x.v / fe.voltsPerCount;
      i[k] = fe.currentOffset + x.i / fe.ampsPerCount;
    }
    this.#cycle = { draw, v, i };
    return this.#cycle;
  }

  /**
   * A 12-bit conversion: noise, rounding, and clipping at the rails. The noise is triangular (the
   * sum of two uniforms) with the front end's standard deviation; both uniforms come from one
   * 32-bit draw of a xorshift generator, inline, as this runs 12,800 times per simulated second.
   */
  #adc(counts: number): number {
    let x = this.#noiseState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#noiseState = x;
    const noise = ((x & 0xffff) + (x >>> 16) - 65535) * this.#noiseScale;
    const x05 = counts + noise + 0.5;
    // floor by truncation, exact for the non-negative values below the top rail.
    return x05 < 0.5 ? 0 : x05 >= 4095 ? 4095 : x05 | 0;
  }

  #receive(frame: CanFrame): void {
    if (!this.#core.receive(frame)) return;
    this.#persist();
    this.#scheduler.after(this.#responseDelayNs, () => this.#flushTx());
  }

  /** Hands every frame the core has queued to the CAN controller. */
  #flushTx(): void {
    for (let frame = this.#core.transmit(); frame; frame = this.#core.transmit()) if (!this.#offBus) this.#node.send(frame);
    this.#persist();
  }

  /** Takes the meter off the bus (power cut). */
  remove(): void {
    this.#stopSampling();
    if (!this.#offBus) this.#node.detach();
    this.#offBus = true;
  }
}
