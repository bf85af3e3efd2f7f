/**
 * A smart meter on the virtual bus: the firmware core (WebAssembly) fed by a simulated CVCT front
 * end and 12-bit ADC sampling a synthetic waveform, answering frames as the board would.
 */
import type { CanFrame } from '../can/frame';
import { buildConfigPage } from '../meter/config-page';
import { MeterCore } from './meter-core';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';
import { type Draw, EUROPEAN_SUPPLY, instantaneous, type LoadProfile, OFF, type Supply, type Waveform, waveformOf } from './waveforms';
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
export interface NvStore {
  load(nodeId: number): Uint8Array | undefined;
  save(nodeId: number, nv: Uint8Array): void;
}

export function memoryNvStore(): NvStore & { readonly blobs: Map<number, Uint8Array> } {
  const blobs = new Map<number, Uint8Array>();
  return { blobs, load: (node) => blobs.get(node), save: (node, nv) => void blobs.set(node, nv) };
}

/** Flash that survives a page reload: the demo household's meters keep their state in Web Storage. */
export function keyValueNvStore(storage: { getItem(key: string): string | null; setItem(key: string, value: string): void }, prefix: string): NvStore {
  return {
    load: (node) => {
      const hex = storage.getItem(`${prefix}.${node}`);
      if (!hex || !/^([0-9a-f]{2})+$/.test(hex)) return undefined;
      return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
    },
    save: (node, nv) => storage.setItem(`${prefix}.${node}`, Array.from(nv, (b) => b.toString(16).padStart(2, '0')).join('')),
  };
}

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
  #node: BusNode;
  #block: Uint16Array;
  #samplesDone = 0;
  #random: () => number;
  #responseDelayNs: number;
  #stopSampling: () => void;
  /** The CAN controller's transmit FIFO and the frame it has handed to the bus. */
  #txFifo: CanFrame[] = [];
  #onAir: CanFrame | undefined;

  constructor(module: WebAssembly.Module, scheduler: EventScheduler, bus: VirtualCanBus, options: SimulatedMeterOptions) {
    this.nodeId = options.nodeId;
    this.name = options.name;
    this.#load = options.load;
    this.supply = options.supply ?? EUROPEAN_SUPPLY;
    this.frontEnd = options.frontEnd ?? CVCT_FRONT_END;
    this.sampleRate = options.sampleRate ?? 6400;
    this.#responseDelayNs = options.responseDelayNs ?? 150_000;
    this.#random = seededRandom(options.seed ?? options.nodeId * 7919);
    this.#scheduler = scheduler;
    this.#module = module;
    this.uid = options.uid ?? simulatedUid(options.nodeId);
    this.configPage = buildConfigPage(options.siteKey, this.uid, options.nodeId);
    this.#nvStore = options.nvStore ?? memoryNvStore();
    this.#core = new MeterCore(module, this.configPage, this.#nvStore.load(options.nodeId));
    this.#persist();
    const blockSamples = options.blockSamples ?? 64;
    this.#block = new Uint16Array(2 * blockSamples);
    this.#node = bus.attach(`meter ${options.nodeId} (${options.name})`);
    this.#node.onReceive = (frame) => this.#receive(frame);
    this.#node.onTransmitted = (frame) => {
      if (frame !== this.#onAir) return;
      this.#onAir = undefined;
      this.#pump();
    };
    const blockNs = (blockSamples * 1e9) / this.sampleRate;
    // The DMA half-transfer interrupt: a block is processed once it has been fully sampled.
    this.#stopSampling = scheduler.every(blockNs, () => this.#sampleBlock(), scheduler.now + blockNs);
  }

  get core(): MeterCore {
    return this.#core;
  }

  /** A power cut and restart: the core boots again from its configuration page and flash. */
  reboot(): void {
    this.#persist();
    this.#core = new MeterCore(this.#module, this.configPage, this.#nvStore.load(this.nodeId));
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
    // One waveform per block: loads change far more slowly than 10 ms.
    const waveform = this.waveformAt(t0);
    for (let k = 0; k < count; k++) {
      const t = (this.#samplesDone + k) / this.sampleRate;
      const { v, i } = instantaneous(waveform, t);
      this.#block[2 * k] = this.#adc(fe.voltageOffset + v / fe.voltsPerCount);
      this.#block[2 * k + 1] = this.#adc(fe.currentOffset + i / fe.ampsPerCount);
    }
    this.#samplesDone += count;
    this.#core.feed(this.#block);
    this.#persist();
    this.#flushTx();
  }

  /** A 12-bit conversion: noise, rounding, and clipping at the rails. */
  #adc(counts: number): number {
    // Sum of two uniforms: a cheap triangular noise with the wanted standard deviation.
    const noise = (this.#random() + this.#random() - 1) * this.frontEnd.noiseCounts * Math.sqrt(6);
    return Math.min(4095, Math.max(0, Math.round(counts + noise)));
  }

  #receive(frame: CanFrame): void {
    if (!this.#core.receive(frame)) return;
    this.#persist();
    this.#scheduler.after(this.#responseDelayNs, () => this.#flushTx());
  }

  /** Hands every frame the core has queued to the CAN controller. */
  #flushTx(): void {
    for (let frame = this.#core.transmit(); frame; frame = this.#core.transmit()) this.#txFifo.push(frame);
    this.#persist();
    this.#pump();
  }

  /**
   * The controller in transmit-FIFO mode (bxCAN TXFP = 1, as docs/protocol.md asks): frames leave in
   * the order the core queued them, one after the other. (Mailboxes by priority would let an ACK
   * overtake the records it follows, and the aggregator would reject those as stale.)
   */
  #pump(): void {
    if (this.#onAir || this.#txFifo.length === 0) return;
    this.#onAir = this.#txFifo.shift();
    if (this.#onAir) this.#node.send(this.#onAir);
  }

  /** Takes the meter off the bus (power cut). */
  remove(): void {
    this.#stopSampling();
    this.#txFifo = [];
    this.#onAir = undefined;
    this.#node.detach();
  }
}
