/**
 * The meter firmware's portable core, compiled to WebAssembly (firmware/wasm/meter_wasm.c), seen
 * from TypeScript. One instance is one meter: its own linear memory, its own static state.
 */
import type { CanFrame } from '../can/frame';

interface MeterCoreExports {
  readonly memory: WebAssembly.Memory;
  ww_config(): number;
  ww_nv(): number;
  ww_nv_size(): number;
  ww_boot(factory: number): number;
  ww_nv_dirty(): number;
  ww_stat(which: number): number;
  ww_samples(): number;
  ww_sample_capacity(): number;
  ww_feed(count: number): number;
  ww_frame(): number;
  ww_rx(): number;
  ww_tx(): number;
  ww_vrms(): number;
  ww_irms(): number;
  ww_power(): number;
  ww_frequency(): number;
  ww_window_seq(): number;
  ww_energy_import_wh(): number;
  ww_energy_export_wh(): number;
  ww_relay_on(): number;
  ww_thd_v(): number;
  ww_thd_i(): number;
  ww_window_flags(): number;
  ww_frequency_10s(): number;
  ww_events_total(): number;
  ww_agg150(which: number): number;
  ww_set_harmonics_every(n: number): void;
}

const REQUIRED_EXPORTS: readonly (keyof MeterCoreExports)[] = [
  'memory', 'ww_config', 'ww_nv', 'ww_nv_size', 'ww_boot', 'ww_nv_dirty', 'ww_stat', 'ww_samples', 'ww_sample_capacity', 'ww_feed', 'ww_frame', 'ww_rx', 'ww_tx',
  'ww_vrms', 'ww_irms', 'ww_power', 'ww_frequency', 'ww_window_seq', 'ww_energy_import_wh',
  'ww_energy_export_wh', 'ww_relay_on', 'ww_thd_v', 'ww_thd_i', 'ww_window_flags', 'ww_frequency_10s',
  'ww_events_total', 'ww_agg150', 'ww_set_harmonics_every',
];

/** meter_window_t.flags (firmware/core/metrology.h). */
const WINDOW_FLAGGED = 0x04;

/** Layout of can_frame_t in firmware/core/can_frame.h: u32 id, u8 dlc, u8 flags, u8 data[8], 2 spare. */
const FRAME_SIZE = 16;
const FLAG_EXTENDED = 1;
const FLAG_REMOTE = 2;

export async function compileMeterCore(bytes: BufferSource): Promise<WebAssembly.Module> {
  const module = await WebAssembly.compile(bytes);
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((name) => !names.has(name));
  if (missing.length > 0) throw new Error(`meter core is missing exports: ${missing.join(', ')}`);
  return module;
}

export interface MeterMeasurement {
  readonly seq: number;
  readonly vrms: number;
  readonly irms: number;
  readonly power: number;
  readonly frequency: number;
  /** THD of the last window, % of the fundamental, up to the 40th harmonic; undefined when not measured. */
  readonly thdVoltagePercent: number | undefined;
  readonly thdCurrentPercent: number | undefined;
  /** IEC 61000-4-30: a dip, swell or interruption touched the last window. */
  readonly flagged: boolean;
  /** The last 10-second frequency (IEC 61000-4-30), Hz; undefined before the first. */
  readonly frequency10s: number | undefined;
  /** Dips, swells and interruptions logged since boot (read them over CAN: READ_EVENTS). */
  readonly eventsLogged: number;
  readonly energyImportWh: number;
  readonly energyExportWh: number;
}

/** The last 150-cycle (3 s) aggregate of the meter. */
export interface Aggregate150 {
  readonly seq: number;
  readonly windows: number;
  readonly flagged: boolean;
  readonly vrms: number;
  readonly irms: number;
  readonly power: number;
  readonly frequency: number;
  readonly thdVoltagePercent: number | undefined;
  readonly thdCurrentPercent: number | undefined;
}

const measured = (v: number): number | undefined => (v < 0 ? undefined : v);

/** Counters the core keeps (ww_stat in firmware/wasm/meter_wasm.c). */
export const MeterStat = {
  TX_FV: 0,
  LAST_AGGREGATOR_FV: 1,
  REJECTED_MAC: 2,
  REJECTED_STALE: 3,
  REJECTED_MALFORMED: 4,
  RATE_LIMITED: 5,
  BOOTS: 6,
  ENERGY_EPOCH: 7,
  TX_DROPPED: 8,
  IDENTIFY_SECONDS: 9,
} as const;
export type MeterStat = (typeof MeterStat)[keyof typeof MeterStat];

export interface MeterCoreOptions {
  /**
   * Analyse the harmonics of one 10-cycle window in this many (1..50; 1, every window, is what the
   * meter does). The windows in between carry the last THD, so a long accelerated simulation
   * saves most of the core's time; an aggregator polling once a second sees no difference at 5.
   */
  readonly harmonicsEvery?: number;
}

export class MeterCoreError extends Error {
  override readonly name = 'MeterCoreError';
}

export class MeterCore {
  readonly #exports: MeterCoreExports;
  readonly capacity: number;

  /**
   * Powers a meter up: the configuration page as the provisioning tool writes it, and the
   * nonvolatile state it left in flash (none: the first power-up after provisioning).
   */
  constructor(module: WebAssembly.Module, configPage: Uint8Array, nv?: Uint8Array, options: MeterCoreOptions = {}) {
    const instance = new WebAssembly.Instance(module, {});
    this.#exports = instance.exports as unknown as MeterCoreExports;
    const e = this.#exports;
    e.ww_set_harmonics_every(options.harmonicsEvery ?? 1);
    new Uint8Array(e.memory.buffer, e.ww_config(), configPage.length).set(configPage);
    if (nv) {
      if (nv.length !== e.ww_nv_size()) throw new MeterCoreError(`nonvolatile state is ${nv.length} bytes, the core keeps ${e.ww_nv_size()}`);
      new Uint8Array(e.memory.buffer, e.ww_nv(), nv.length).set(nv);
    }
    if (e.ww_boot(nv ? 0 : 1) !== 1) throw new MeterCoreError('the configuration page is not valid: the meter stays silent');
    this.capacity = e.ww_sample_capacity();
  }

  /** A copy of the nonvolatile state if it changed since the last call: what the board writes to flash. */
  takeNv(): Uint8Array | undefined {
    const e = this.#exports;
    if (e.ww_nv_dirty() !== 1) return undefined;
    return new Uint8Array(e.memory.buffer, e.ww_nv(), e.ww_nv_size()).slice();
  }

  stat(which: MeterStat): number {
    // wasm returns i32: counters of 2^31 and above would read negative.
    return this.#exports.ww_stat(which) >>> 0;
  }

  /**
   * Feeds ADC sample pairs (12-bit codes) as the DMA would; returns the windows completed.
   * `codes` holds v0, i0, v1, i1, … like the dual-ADC word stream.
   */
  feed(codes: Uint16Array): number {
    let windows = 0;
    for (let start = 0; start < codes.length; start += 2 * this.capacity) {
      const chunk = codes.subarray(start, Math.min(codes.length, start + 2 * this.capacity));
      new Uint16Array(this.#exports.memory.buffer, this.#exports.ww_samples(), chunk.length).set(chunk);
      windows += this.#exports.ww_feed(chunk.length / 2);
    }
    return windows;
  }

  /** Hands a received frame to the meter; true when the meter used it. */
  receive(frame: CanFrame): boolean {
    const bytes = new Uint8Array(this.#exports.memory.buffer, this.#exports.ww_frame(), FRAME_SIZE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_SIZE);
    bytes.fill(0);
    view.setUint32(0, frame.id, true);
    bytes[4] = frame.dlc;
    bytes[5] = (frame.extended ? FLAG_EXTENDED : 0) | (frame.remote ? FLAG_REMOTE : 0);
    bytes.set(frame.data, 6);
    return this.#exports.ww_rx() === 1;
  }

  /** The next frame the meter wants to send, if any. */
  transmit(): CanFrame | undefined {
    if (this.#exports.ww_tx() !== 1) return undefined;
    const bytes = new Uint8Array(this.#exports.memory.buffer, this.#exports.ww_frame(), FRAME_SIZE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_SIZE);
    const flags = bytes[5] ?? 0;
    const remote = (flags & FLAG_REMOTE) !== 0;
    const dlc = Math.min(8, bytes[4] ?? 0);
    return {
      id: view.getUint32(0, true),
      extended: (flags & FLAG_EXTENDED) !== 0,
      remote,
      dlc,
      data: remote ? new Uint8Array(0) : bytes.slice(6, 6 + dlc),
    };
  }

  get relayOn(): boolean {
    return this.#exports.ww_relay_on() === 1;
  }

  measurement(): MeterMeasurement {
    const e = this.#exports;
    const f10 = e.ww_frequency_10s();
    return {
      seq: e.ww_window_seq(),
      vrms: e.ww_vrms(),
      irms: e.ww_irms(),
      power: e.ww_power(),
      frequency: e.ww_frequency(),
      thdVoltagePercent: measured(e.ww_thd_v()),
      thdCurrentPercent: measured(e.ww_thd_i()),
      flagged: (e.ww_window_flags() & WINDOW_FLAGGED) !== 0,
      frequency10s: f10 > 0 ? f10 : undefined,
      eventsLogged: e.ww_events_total() >>> 0,
      energyImportWh: e.ww_energy_import_wh(),
      energyExportWh: e.ww_energy_export_wh(),
    };
  }

  /** The last 150-cycle aggregate, or undefined before the first. */
  aggregate150(): Aggregate150 | undefined {
    const a = (which: number) => this.#exports.ww_agg150(which);
    if (a(0) === 0) return undefined;
    return {
      seq: a(0),
      windows: a(1),
      flagged: a(2) === 1,
      vrms: a(3),
      irms: a(4),
      power: a(5),
      frequency: a(6),
      thdVoltagePercent: measured(a(7)),
      thdCurrentPercent: measured(a(8)),
    };
  }
}
