/**
 * A meter as the bus sees it, without its metrology: the protocol of the firmware core (secured
 * SNAPSHOT, ENERGY and STATUS replies, verified commands, ACKs, TIME) in TypeScript, over energy
 * registers integrated exactly from a piecewise-constant load. For runs far longer than the
 * sample-level meter (simulated-meter.ts, 6400 samples a second through the wasm core) can afford:
 * a simulated week of 32 meters. What it sends is what the firmware sends (same codecs, keys and
 * freshness rules), so the app's whole path from the adapter to the bill runs unchanged.
 *
 * Registers count in integer mWh; the meter persists them per whole Wh, so a reboot resumes from
 * the last whole Wh and loses the remainder, as the board does.
 */
import type { CanFrame } from '../can/frame';
import { BROADCAST_NODE, canId, FunctionCode, isCommandFunction, splitId } from '../meter/ids';
import { deriveGroupKey, deriveMeterKey } from '../meter/keys';
import { AckResult, ControlOpcode, decodeCommand, encodeAck, encodeEnergy, encodeSnapshot, encodeStatus, EnergyFlag, SnapshotFlag, StatusFlag } from '../meter/records';
import { open, sealFrames } from '../meter/secure';
import { Reassembler } from '../meter/segmentation';
import type { EventScheduler } from './scheduler';
import type { BusNode, VirtualCanBus } from './virtual-bus';

/** The load's power in W (negative: export) over the interval starting at `index × stepS` seconds. */
export type StepLoad = (index: number) => number;

export interface RegisterMeterOptions {
  readonly nodeId: number;
  readonly uid: Uint8Array;
  readonly siteKey: Uint8Array;
  readonly load: StepLoad;
  /** Length of the load's constant steps, s (default 60). */
  readonly stepS?: number;
  /** From a reply's request to its first frame queued, ns (the CAN task's latency). */
  readonly responseDelayNs?: number;
  /** ENERGY records kept in `sentEnergy`, the newest (default: all). */
  readonly keepSent?: number;
}

/** One ENERGY record as the meter sent it. */
export interface SentEnergy {
  readonly atNs: number;
  readonly importMwh: number;
  readonly exportMwh: number;
  readonly boots: number;
  /**
   * What the registers counted from the first ENERGY record sent to this one: their differences,
   * and across a reboot the difference from the whole Wh the meter resumed from.
   */
  readonly countedImportMwh: number;
  readonly countedExportMwh: number;
  /** Reboots between the first record and this one. */
  readonly reboots: number;
}

const VRMS_CENTIVOLTS = 23_000;

export class RegisterMeter {
  readonly nodeId: number;
  readonly uid: Uint8Array;
  readonly #scheduler: EventScheduler;
  readonly #bus: VirtualCanBus;
  readonly #meterKey: Uint8Array;
  readonly #groupKey: Uint8Array;
  readonly #load: StepLoad;
  readonly #stepNs: number;
  readonly #delayNs: number;
  readonly #reassembler: Reassembler;
  #node: BusNode | undefined;
  /** Exact energy since provisioning, mWh (fractions kept); the registers are its floor. */
  #importMwh = 0;
  #exportMwh = 0;
  /** What the flash holds: whole Wh, in mWh. */
  #persistedImportMwh = 0;
  #persistedExportMwh = 0;
  /** Energy the registers counted and lost again at power cuts (the sub-Wh remainders), mWh. */
  #lostMwh = 0;
  #integratedToNs: number;
  #bootedAtNs: number;
  #boots = 1;
  #fv = 0;
  #lastCommandFv = 0;
  #timeBase: { readonly unixMs: number; readonly atNs: number } | undefined;
  #relayOn = true;
  readonly sentEnergy: SentEnergy[] = [];
  readonly #keepSent: number;
  #lastSent: SentEnergy | undefined;

  constructor(scheduler: EventScheduler, bus: VirtualCanBus, options: RegisterMeterOptions) {
    this.nodeId = options.nodeId;
    this.uid = options.uid;
    this.#scheduler = scheduler;
    this.#bus = bus;
    this.#meterKey = deriveMeterKey(options.siteKey, options.uid);
    this.#groupKey = deriveGroupKey(options.siteKey);
    this.#load = options.load;
    this.#stepNs = (options.stepS ?? 60) * 1e9;
    this.#delayNs = options.responseDelayNs ?? 150_000;
    this.#keepSent = options.keepSent ?? Infinity;
    this.#reassembler = new Reassembler({ now: () => this.#scheduler.now / 1e6 });
    this.#integratedToNs = scheduler.now;
    this.#bootedAtNs = scheduler.now;
    this.#node = this.#join();
  }

  /** Registers as an ENERGY record carries them, mWh. */
  get registers(): { importMwh: number; exportMwh: number; boots: number } {
    this.#integrate();
    return { importMwh: Math.floor(this.#importMwh), exportMwh: Math.floor(this.#exportMwh), boots: this.#boots };
  }

  /** What power cuts took from the registers so far, mWh (each under 1 Wh per register). */
  get lostAtPowerCuts(): number {
    return this.#lostMwh;
  }

  get offBus(): boolean {
    return this.#node === undefined;
  }

  /** The CAN cable cut (true) or mended: the meter goes on counting. */
  setOffBus(off: boolean): void {
    if (off && this.#node) {
      this.#node.detach();
      this.#node = undefined;
    } else if (!off && !this.#node) this.#node = this.#join();
  }

  /** A power cut and restart: registers resume from the whole Wh in flash, the clock is lost. */
  reboot(): void {
    this.#integrate();
    this.#lostMwh += Math.floor(this.#importMwh) - this.#persistedImportMwh + (Math.floor(this.#exportMwh) - this.#persistedExportMwh);
    this.#importMwh = this.#persistedImportMwh;
    this.#exportMwh = this.#persistedExportMwh;
    this.#boots++;
    this.#bootedAtNs = this.#scheduler.now;
    this.#timeBase = undefined;
  }

  #join(): BusNode {
    const node = this.#bus.attach(`register meter ${this.nodeId}`, { order: 'fifo' });
    node.onReceive = (frame) => this.#receive(frame);
    return node;
  }

  #powerW(index: number): number {
    return this.#relayOn ? this.#load(index) : 0;
  }

  /** Adds the energy of the load up to now, step by step (each step's power is constant). */
  #integrate(): void {
    const now = this.#scheduler.now;
    let t = this.#integratedToNs;
    while (t < now) {
      const index = Math.floor(t / this.#stepNs);
      const end = Math.min(now, (index + 1) * this.#stepNs);
      const mwh = (this.#powerW(index) * (end - t)) / 3.6e9; // W × ns → mWh
      if (mwh >= 0) this.#importMwh += mwh;
      else this.#exportMwh -= mwh;
      t = end;
    }
    this.#integratedToNs = now;
    // The board writes its flash at every whole Wh.
    this.#persistedImportMwh = Math.floor(this.#importMwh / 1000) * 1000;
    this.#persistedExportMwh = Math.floor(this.#exportMwh / 1000) * 1000;
  }

  #clock(): { timeS: number; timeCs: number; valid: boolean } {
    const now = this.#scheduler.now;
    const ms = this.#timeBase ? this.#timeBase.unixMs + (now - this.#timeBase.atNs) / 1e6 : (now - this.#bootedAtNs) / 1e6;
    return { timeS: Math.floor(ms / 1000), timeCs: Math.floor((ms % 1000) / 10), valid: this.#timeBase !== undefined };
  }

  #receive(frame: CanFrame): void {
    if (frame.extended) return;
    const { fn, node } = splitId(frame.id);
    if (frame.remote) {
      if (node === this.nodeId) this.#scheduler.after(this.#delayNs, () => this.#reply(fn));
      return;
    }
    if ((node !== this.nodeId && node !== BROADCAST_NODE) || !isCommandFunction(fn)) return;
    for (const event of this.#reassembler.push(frame)) {
      if (event.kind === 'message') this.#command(event.id, event.body);
    }
  }

  #reply(fn: number): void {
    this.#integrate();
    const clock = this.#clock();
    const timeFlag = clock.valid ? SnapshotFlag.TIME_VALID : 0;
    let payload: Uint8Array;
    if (fn === FunctionCode.SNAPSHOT) {
      const watts = this.#powerW(Math.floor(this.#scheduler.now / this.#stepNs));
      payload = encodeSnapshot({
        timeS: clock.timeS,
        timeCs: clock.timeCs,
        flags: (this.#relayOn ? SnapshotFlag.RELAY_ON : 0) | timeFlag,
        vrms: VRMS_CENTIVOLTS,
        irms: Math.round((Math.abs(watts) / (VRMS_CENTIVOLTS / 100)) * 1000),
        p: Math.round(watts * 1000),
        n: 0,
        pf: watts < 0 ? -10000 : 10000,
        f: 50_000,
        thdV: 0xffff,
        thdI: 0xffff,
      });
    } else if (fn === FunctionCode.ENERGY) {
      const r = this.registers;
      payload = encodeEnergy({ timeS: clock.timeS, flags: clock.valid ? EnergyFlag.TIME_VALID : 0, importMwh: r.importMwh, exportMwh: r.exportMwh, epoch: 0, boots: this.#boots });
      this.#recordSent(r.importMwh, r.exportMwh);
    } else if (fn === FunctionCode.STATUS) {
      payload = encodeStatus({
        protocol: 1,
        firmware: 0x0100,
        build: 1,
        uid: this.uid,
        flags: (this.#relayOn ? StatusFlag.RELAY_ON : 0) | (clock.valid ? StatusFlag.TIME_VALID : 0),
        uptimeS: Math.floor((this.#scheduler.now - this.#bootedAtNs) / 1e9),
        boots: this.#boots,
        rejectedMac: 0,
        rejectedStale: 0,
        rejectedMalformed: 0,
        rateLimited: 0,
        tec: 0,
        rec: 0,
      });
    } else return;
    this.#send(fn, payload);
  }

  #recordSent(importMwh: number, exportMwh: number): void {
    const a = this.#lastSent;
    const rebooted = a !== undefined && this.#boots > a.boots;
    const step = (x: number, y: number) => (y >= x || !rebooted ? y - x : y - Math.floor(x / 1000) * 1000);
    const sent: SentEnergy = {
      atNs: this.#scheduler.now,
      importMwh,
      exportMwh,
      boots: this.#boots,
      countedImportMwh: a ? a.countedImportMwh + step(a.importMwh, importMwh) : 0,
      countedExportMwh: a ? a.countedExportMwh + step(a.exportMwh, exportMwh) : 0,
      reboots: (a?.reboots ?? 0) + (rebooted ? 1 : 0),
    };
    this.#lastSent = sent;
    this.sentEnergy.push(sent);
    if (this.sentEnergy.length > this.#keepSent) this.sentEnergy.shift();
  }

  #send(fn: number, payload: Uint8Array): void {
    const node = this.#node;
    if (!node) return;
    this.#fv++;
    for (const frame of sealFrames(this.#meterKey, canId(fn, this.nodeId), payload, this.#fv)) node.send(frame);
  }

  #command(id: number, body: Uint8Array): void {
    const { fn, node } = splitId(id);
    const opened = open(node === BROADCAST_NODE ? this.#groupKey : this.#meterKey, id, body, this.#lastCommandFv);
    if (!opened.ok || !isCommandFunction(fn)) return;
    this.#lastCommandFv = opened.fv;
    const decoded = decodeCommand(fn, opened.payload);
    if (!decoded.ok) return;
    const command = decoded.value;
    if (command.function === FunctionCode.TIME) {
      this.#timeBase = { unixMs: command.unixMs, atNs: this.#scheduler.now };
      return;
    }
    let value = 0;
    let opcode = 0;
    if (command.function === FunctionCode.RELAY) {
      this.#integrate();
      this.#relayOn = command.state === 1;
      value = command.state;
    } else {
      opcode = command.opcode;
      // No 10-minute aggregates and no events are kept here: a history read finds none.
      if (command.opcode !== ControlOpcode.READ_AGGREGATES && command.opcode !== ControlOpcode.READ_EVENTS && command.opcode !== ControlOpcode.IDENTIFY) {
        this.#scheduler.after(this.#delayNs, () => this.#send(FunctionCode.ACK, encodeAck({ function: fn, opcode, commandFv: opened.fv, result: AckResult.BAD_ARGUMENTS, value: 0 })));
        return;
      }
    }
    this.#scheduler.after(this.#delayNs, () => this.#send(FunctionCode.ACK, encodeAck({ function: fn, opcode, commandFv: opened.fv, result: AckResult.OK, value })));
  }
}
