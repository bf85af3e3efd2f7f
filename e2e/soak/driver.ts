/**
 * The soak, in the page: a bus of register-level meters (src/lib/sim/register-meter.ts) behind an
 * emulated slcan adapter, the app's real slcan driver, aggregator and historian over the browser's
 * IndexedDB, all in virtual time, with seeded random faults from docs/faults.md. The test
 * (e2e/soak.e2e.ts) runs it an hour at a time through `window.__soak`, measures the page's heap
 * between hours, and checks the outcome against its own sums.
 */
import { Aggregator, type Timers } from '../../src/lib/aggregator/aggregator';
import { Historian } from '../../src/lib/aggregator/historian';
import { ephemeralSite, type SiteCredentials } from '../../src/lib/aggregator/site';
import type { CanFrame } from '../../src/lib/can/frame';
import { openSlcanTransport } from '../../src/lib/can/slcan/serial-transport';
import type { CanTransport } from '../../src/lib/can/transport';
import { errorMessage } from '../../src/lib/errors';
import { canId, FunctionCode, splitId } from '../../src/lib/meter/ids';
import { encodeEnergy } from '../../src/lib/meter/records';
import { sealFrames } from '../../src/lib/meter/secure';
import { seededRandom } from '../../src/lib/sim/random';
import { RegisterMeter } from '../../src/lib/sim/register-meter';
import { EventScheduler } from '../../src/lib/sim/scheduler';
import { simulatedUid } from '../../src/lib/sim/simulated-meter';
import { NAKAKIYO_FLAVOUR, SlcanAdapterEmulator } from '../../src/lib/sim/slcan-adapter';
import { VirtualCanBus } from '../../src/lib/sim/virtual-bus';
import { readSlotEnergy } from '../../src/lib/store/queries';
import { type HistoryDb, openHistory } from '../../src/lib/store/schema';
import { computeBill, billMeters } from '../../src/lib/tariff/billing';
import { rangePeriod } from '../../src/lib/tariff/costs';
import { SLOT_MS, type PriceSlot } from '../../src/lib/tariff/slot';
import type { Tariff } from '../../src/lib/tariff/tariff';

export interface SoakConfig {
  readonly seed: number;
  readonly meters: number;
  /** Simulated length, hours. */
  readonly hours: number;
  /** Poll period, s. */
  readonly pollS: number;
  /** Virtual time zero as wall-clock ms. */
  readonly startMs: number;
  readonly faultsPerDay: number;
  /** The tariff the bill is computed with (dynamic: spot + markup). */
  readonly tariff: Tariff;
  /** Spot price of a slot, currency per kWh: `base + (slot index mod 8) × step`. */
  readonly spot: { readonly base: number; readonly step: number };
}

export type FaultKind = 'unplug' | 'silent' | 'reboot' | 'attack' | 'garble' | 'bus-off' | 'storage-full' | 'tab-closed' | 'clock-step';

export interface Fault {
  readonly kind: FaultKind;
  /** Simulated ms from the start. */
  readonly at: number;
  readonly durationMs: number;
  readonly node?: number;
  readonly stepMs?: number;
}

/** Something that went wrong, as the app reported it. */
export interface Problem {
  readonly at: number;
  readonly category: string;
  readonly detail: string;
}

export interface SoakProgress {
  readonly simulatedMs: number;
  readonly energyRecords: number;
  readonly snapshots: number;
  readonly faults: number;
  readonly problems: number;
}

export interface MeterOutcome {
  readonly node: number;
  readonly uid: string;
  readonly storedImportMwh: number;
  readonly storedExportMwh: number;
  /** What the registers counted from the app's first reading to the one its cursor holds. */
  readonly countedImportMwh: number;
  readonly countedExportMwh: number;
  readonly reboots: number;
  /** The cursor's reading is among the last two the meter sent. */
  readonly cursorCurrent: boolean;
  readonly pendingGaps: number;
}

export interface SoakOutcome {
  readonly meters: readonly MeterOutcome[];
  readonly faults: readonly Fault[];
  /** What the app reported, by category (all explained but `unexplained`). */
  readonly reports: Readonly<Record<string, number>>;
  readonly unexplained: readonly Problem[];
  readonly slots: readonly { readonly uid: string; readonly start: number; readonly importMwh: number }[];
  readonly bill: { readonly totalCents: number; readonly energyCents: number; readonly gridCents: number; readonly exciseCents: number; readonly vatCents: number; readonly importMwh: number };
  readonly energyRecords: number;
  readonly snapshots: number;
}

/** Which faults explain which reports: a report with no fault of these kinds around it is a bug. */
const EXPLAINS: Readonly<Record<string, readonly FaultKind[]>> = {
  'link-lost': ['unplug'],
  'rejected:stale': ['attack'],
  'rejected:bad-mac': ['attack', 'garble'],
  'rejected:malformed': ['attack', 'garble', 'unplug', 'bus-off'],
  'rejected:unknown-uid': ['garble'],
  warning: ['garble', 'bus-off', 'unplug'],
  'log:gap': ['silent', 'unplug', 'tab-closed', 'clock-step', 'bus-off'],
  'log:history-read-failed': ['silent', 'unplug', 'tab-closed', 'bus-off'],
  'log:meter-rebooted': ['reboot'],
  'log:clock-stepped-back': ['clock-step'],
  'log:rejected-burst': ['attack'],
  'flush-failed': ['storage-full'],
};
/** Reports may trail their fault a little (a backfill after a reconnection, a late burst). */
const GRACE_MS = 20 * 60_000;

const macrotask = (() => {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return () =>
    new Promise<void>((resolve) => {
      queue.push(resolve);
      channel.port2.postMessage(0);
    });
})();

/** Timers fired by hand, in step with virtual time (as src/lib/aggregator/testing.ts, without its Node rig). */
function manualTimers(): Timers & { tick(): void } {
  let fn: (() => void) | undefined;
  return {
    setInterval: (f) => {
      fn = f;
      return 1;
    },
    clearInterval: () => {
      fn = undefined;
    },
    tick: () => fn?.(),
  };
}

/** A fast deterministic hash of two integers to 0..1: the loads' on/off pattern without storing it. */
function hash01(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 15;
  return (h >>> 0) / 2 ** 32;
}

class Soak {
  readonly config: SoakConfig;
  readonly scheduler = new EventScheduler();
  readonly bus: VirtualCanBus;
  readonly adapter: SlcanAdapterEmulator;
  readonly meters: RegisterMeter[] = [];
  readonly faults: Fault[];
  /** Reports by category. */
  readonly reports = new Map<string, number>();
  readonly unexplained: Problem[] = [];
  readonly #intruder;
  readonly #heard = new Map<number, CanFrame[][]>();
  #site!: SiteCredentials;
  #db!: HistoryDb;
  #storageFull = false;
  #clockOffsetMs = 0;
  #session: { aggregator: Aggregator; historian: Historian; timers: ReturnType<typeof manualTimers>; transport: CanTransport } | undefined;
  #cycles = 0;
  #energyRecords = 0;
  #snapshots = 0;
  #pending: { fault: Fault; end: () => Promise<void> | void; endsAt: number }[] = [];
  #nextFault = 0;

  constructor(config: SoakConfig) {
    this.config = config;
    this.bus = new VirtualCanBus(this.scheduler, { bitrate: 500_000 });
    this.adapter = new SlcanAdapterEmulator(this.scheduler, this.bus, { flavour: NAKAKIYO_FLAVOUR });
    const siteKey = new Uint8Array(32).fill(0x5e);
    for (let node = 1; node <= config.meters; node++) {
      // Each load has its size and its habits: on or nearly off, minute by minute.
      const random = seededRandom(config.seed * 1000 + node);
      const watts = 150 + Math.floor(random() * 2850);
      const duty = 0.2 + random() * 0.6;
      // Only the newest ENERGY records are kept, with running sums: the soak's bookkeeping stays flat.
      this.meters.push(new RegisterMeter(this.scheduler, this.bus, { nodeId: node, uid: simulatedUid(node), siteKey, keepSent: 8, load: (k) => (hash01(node, k) < duty ? watts : watts * 0.02) }));
    }
    this.faults = this.#plan();
    this.#intruder = this.bus.attach('intruder');
    this.#intruder.onReceive = (frame) => {
      if (frame.remote) return;
      const { fn } = splitId(frame.id);
      if (fn !== FunctionCode.SNAPSHOT && fn !== FunctionCode.ENERGY) return;
      const index = (frame.data[0] ?? 0) >> 4;
      const list = this.#heard.get(frame.id) ?? [];
      if (index === 0) list.push([]);
      list.at(-1)?.push({ ...frame, data: frame.data.slice() });
      if (list.length > 4) list.shift();
      this.#heard.set(frame.id, list);
    };
  }

  get nowMs(): number {
    return this.scheduler.now / 1e6;
  }

  /** The app's wall clock: the tablet's, which a clock fault sets wrong. */
  appNow = (): number => this.config.startMs + this.nowMs + this.#clockOffsetMs;

  #plan(): Fault[] {
    const random = seededRandom(this.config.seed);
    const kinds: FaultKind[] = ['unplug', 'silent', 'reboot', 'attack', 'garble', 'bus-off', 'storage-full', 'tab-closed', 'clock-step'];
    const total = this.config.hours * 3_600_000;
    const count = Math.max(kinds.length, Math.round((this.config.faultsPerDay * total) / 86_400_000));
    const faults: Fault[] = [];
    // Evenly spread slots, a random moment in each; the first hour and the last two are quiet.
    const from = 3_600_000;
    const span = total - 3 * 3_600_000;
    let free = from;
    for (let k = 0; k < count; k++) {
      // Every kind at least once (5 and 9 share no factor: k × 5 mod 9 visits all), then at random.
      const kind = k < kinds.length ? (kinds[(k * 5) % kinds.length] as FaultKind) : (kinds[Math.floor(random() * kinds.length)] as FaultKind);
      const slot = span / count;
      // One fault at a time, with ten quiet minutes between: each report has one cause.
      const at = Math.max(free, Math.floor(from + k * slot + random() * slot * 0.3));
      const minutes = (lo: number, hi: number) => Math.floor((lo + random() * (hi - lo)) * 60_000);
      const node = 1 + Math.floor(random() * this.config.meters);
      switch (kind) {
        case 'unplug':
          faults.push({ kind, at, durationMs: minutes(1, 20) });
          break;
        case 'silent':
          faults.push({ kind, at, durationMs: minutes(1, 30), node });
          break;
        case 'reboot':
          faults.push({ kind, at, durationMs: 0, node });
          break;
        case 'attack':
          faults.push({ kind, at, durationMs: minutes(1, 3), node });
          break;
        case 'garble':
        case 'bus-off':
          faults.push({ kind, at, durationMs: 0 });
          break;
        case 'storage-full':
          faults.push({ kind, at, durationMs: minutes(5, 40) });
          break;
        case 'tab-closed':
          faults.push({ kind, at, durationMs: minutes(5, 90) });
          break;
        case 'clock-step':
          faults.push({ kind, at, durationMs: minutes(10, 60), stepMs: (random() < 0.5 ? -1 : 1) * minutes(30, 180) });
          break;
      }
      const last = faults.at(-1) as Fault;
      free = last.at + last.durationMs + 10 * 60_000;
    }
    return faults.filter((f) => f.at + f.durationMs < total - 2 * 3_600_000);
  }

  async start(): Promise<void> {
    this.#site = await ephemeralSite(new Uint8Array(32).fill(0x5e));
    const name = `wattwall-history-soak-${this.config.seed}`;
    await new Promise<void>((resolve) => {
      const r = indexedDB.deleteDatabase(name);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
    this.#db = await openHistory(name);
    await this.#open();
  }

  /** A disk that refuses every write while the storage fault lasts, as a full one does. */
  #dbView(): HistoryDb {
    return new Proxy(this.#db, {
      get: (target, prop, receiver) => {
        if (prop === 'transaction') {
          return (stores: never, mode?: IDBTransactionMode) => {
            if (this.#storageFull && mode === 'readwrite') throw new DOMException('The quota for this origin has been exceeded.', 'QuotaExceededError');
            return target.transaction(stores, mode);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * A report, judged at once against the planned faults (they are known from the start): counted
   * by category, and kept only when no fault explains it, so the bookkeeping does not grow the heap.
   */
  #problem(category: string, detail: string): void {
    const at = this.nowMs;
    this.reports.set(category, (this.reports.get(category) ?? 0) + 1);
    const kinds = EXPLAINS[category] ?? [];
    const explained = this.faults.some((f) => kinds.includes(f.kind) && at >= f.at - 1000 && at <= f.at + f.durationMs + GRACE_MS);
    if (!explained && this.unexplained.length < 100) this.unexplained.push({ at, category, detail });
  }

  /** The app opens: a new aggregator and historian on the same database, as a tab opened. */
  async #open(): Promise<void> {
    const transport = await this.#openTransport();
    const historian = await Historian.open(this.#dbView(), { now: this.appNow });
    historian.subscribe({
      log: (entry) => {
        if (entry.level !== 'info' || entry.code === 'gap' || entry.code === 'meter-rebooted') this.#problem(`log:${entry.code}`, entry.message);
      },
      flushed: (result) => {
        if (!result.ok) this.#problem('flush-failed', result.error ?? '');
      },
    });
    await this.#startAggregator(transport, historian);
  }

  /** Opens the app's slcan driver on the adapter while virtual time runs (it waits for replies). */
  async #openTransport(): Promise<CanTransport> {
    let settled = false;
    // The driver's timers run in virtual time too (probe, bus-off recovery); its status poll is off:
    // a poll a second would be 2,880 status lines a day of nothing but traffic.
    const timers = { setTimeout: (fn: () => void, ms: number): unknown => this.scheduler.after(Math.max(0, ms) * 1e6, () => fn()), clearTimeout: (handle: unknown) => (handle as () => void)() };
    const opening = openSlcanTransport(this.adapter.port, { bitrate: 500_000, now: this.appNow, timers, statusPollMs: 0 }).finally(() => {
      settled = true;
    });
    opening.catch(() => undefined);
    while (!settled) {
      this.scheduler.advanceBy(1e6);
      await macrotask();
    }
    return opening;
  }

  async #startAggregator(transport: CanTransport, historian: Historian): Promise<void> {
    const timers = manualTimers();
    // Registers every minute (and at each quarter-hour's edge), STATUS every 10 minutes, a sweep for new meters every 5.
    const per = (s: number) => Math.max(2, Math.round(s / this.config.pollS));
    const aggregator = new Aggregator(transport, { ...this.#site, now: this.appNow, timers, bitrate: 500_000, intervalMs: this.config.pollS * 1000, energyEveryCycles: per(60), statusEveryCycles: per(600), rescanEveryCycles: per(300) });
    historian.attach(aggregator);
    aggregator.subscribe({
      energy: () => void this.#energyRecords++,
      snapshot: () => void this.#snapshots++,
      warning: (message) => this.#problem('warning', message),
      rejected: (r) => this.#problem(`rejected:${r.reason}`, `meter ${r.node}: ${r.detail}`),
      link: (status, detail) => {
        // Closed by the app itself (the tab closing, a reconnection) is no fault.
        if (status === 'disconnected' && detail !== 'user') this.#problem('link-lost', detail ?? '');
      },
    });
    aggregator.start();
    this.#session = { aggregator, historian, timers, transport };
    // The first cycles sweep the bus for meters.
    for (let i = 0; i < 5; i++) {
      await this.#advance(300, 2);
      timers.tick();
    }
  }

  async #advance(ms: number, stepMs: number): Promise<void> {
    const end = this.scheduler.now + ms * 1e6;
    while (this.scheduler.now < end) {
      this.scheduler.advanceTo(Math.min(end, this.scheduler.now + stepMs * 1e6));
      await macrotask();
    }
  }

  async #close(): Promise<void> {
    const s = this.#session;
    if (!s) return;
    this.#session = undefined;
    await s.historian.close();
    await s.aggregator.stop();
  }

  /** One poll period: the requests, the replies (in 2 ms steps), then the quiet rest in one go. */
  async #cycle(): Promise<void> {
    const periodMs = this.config.pollS * 1000;
    const start = this.scheduler.now;
    this.#session?.timers.tick();
    // 32 replies at 500 kbit/s take about 60 ms of bus: 10 ms steps (the adapter's buffer stays far
    // from full) until nothing is due within 50 ms, then the quiet rest of the period at once.
    for (;;) {
      await this.#advance(10, 10);
      const next = this.scheduler.nextEventTime();
      if (next === undefined || next - this.scheduler.now > 50e6 || this.scheduler.now - start > 2e9) break;
    }
    this.scheduler.advanceTo(start + periodMs * 1e6);
    await macrotask();
    this.#cycles++;
    // The app writes every 5 s; here once a minute of simulated time is enough for the same path.
    if (this.#cycles % Math.max(1, Math.round(60 / this.config.pollS)) === 0) await this.#session?.historian.flush();
  }

  async #applyFaults(): Promise<void> {
    for (const p of [...this.#pending]) {
      if (this.nowMs >= p.endsAt) {
        this.#pending = this.#pending.filter((x) => x !== p);
        await p.end();
      }
    }
    while (this.#nextFault < this.faults.length && (this.faults[this.#nextFault] as Fault).at <= this.nowMs) {
      const fault = this.faults[this.#nextFault++] as Fault;
      const end = await this.#inject(fault);
      this.#pending.push({ fault, end, endsAt: this.nowMs + fault.durationMs });
    }
  }

  async #inject(fault: Fault): Promise<() => Promise<void> | void> {
    const meter = this.meters.find((m) => m.nodeId === fault.node);
    switch (fault.kind) {
      case 'unplug':
        this.adapter.unplug();
        return async () => {
          const s = this.#session;
          if (!s) return;
          await s.aggregator.stop();
          this.adapter.replug();
          await this.#startAggregator(await this.#openTransport(), s.historian);
        };
      case 'silent':
        meter?.setOffBus(true);
        return () => meter?.setOffBus(false);
      case 'reboot':
        meter?.reboot();
        return () => undefined;
      case 'attack': {
        const node = fault.node ?? 1;
        const wrongKey = new Uint8Array(32).fill(0xa5);
        // Recorded messages sent back and forged ones, as fast as the bus takes them.
        for (let k = 0; k < 40; k++) {
          for (const fn of [FunctionCode.SNAPSHOT, FunctionCode.ENERGY]) for (const frame of this.#heard.get(canId(fn, node))?.[0] ?? []) this.#intruder.send(frame);
          const payload = encodeEnergy({ timeS: 0, flags: 0, importMwh: 900_000_000 + k, exportMwh: 0, epoch: 0, boots: 1 });
          for (const frame of sealFrames(wrongKey, canId(FunctionCode.ENERGY, node), payload, 0x7fff0000 + k)) this.#intruder.send(frame);
        }
        return () => undefined;
      }
      case 'garble': {
        const random = seededRandom(fault.at);
        for (let k = 0; k < 40; k++) this.adapter.port.deliver(Uint8Array.from({ length: 64 }, () => (random() < 0.3 ? 0x0d : Math.floor(random() * 256))));
        return () => undefined;
      }
      case 'bus-off':
        this.adapter.controller.transmitErrors(32, 'bit');
        return () => undefined;
      case 'storage-full':
        this.#storageFull = true;
        return () => {
          this.#storageFull = false;
        };
      case 'tab-closed':
        await this.#close();
        return () => this.#open();
      case 'clock-step':
        this.#clockOffsetMs = fault.stepMs ?? 0;
        return () => {
          this.#clockOffsetMs = 0;
        };
    }
  }

  /** Runs `hours` of simulated time (faults included); returns where the run stands. */
  async run(hours: number): Promise<SoakProgress> {
    const end = Math.min(this.config.hours * 3_600_000, this.nowMs + hours * 3_600_000);
    while (this.nowMs < end) {
      await this.#applyFaults();
      await this.#cycle();
    }
    return { simulatedMs: this.nowMs, energyRecords: this.#energyRecords, snapshots: this.#snapshots, faults: this.#nextFault, problems: [...this.reports.values()].reduce((a, b) => a + b, 0) };
  }

  /** Ends every fault, lets the app settle, closes it (final write), and reports. */
  async finish(): Promise<SoakOutcome> {
    for (const p of this.#pending) await p.end();
    this.#pending = [];
    // Ten clean minutes, so every meter is read again after the last fault.
    for (let k = 0; k < Math.ceil(600 / this.config.pollS); k++) await this.#cycle();
    const historian = this.#session?.historian;
    if (historian) {
      await historian.idle();
      await historian.flush();
    }
    await this.#close();
    const db = this.#db;
    const [registry, cursors, gaps] = await Promise.all([db.getAll('meters'), db.getAll('cursors'), db.getAll('gaps')]);
    const from = this.config.startMs - 86_400_000;
    const to = this.config.startMs + this.nowMs + 2 * 86_400_000;
    const slots = await readSlotEnergy(db, registry.map((m) => m.uid), from, to);
    const outcomes: MeterOutcome[] = [];
    for (const info of registry) {
      const meter = this.meters.find((m) => m.nodeId === info.node);
      const cursor = cursors.find((c) => c.uid === info.uid);
      if (!meter || !cursor) continue;
      const sent = meter.sentEnergy;
      const k = sent.findLastIndex((r) => r.importMwh === cursor.importMwh && r.exportMwh === cursor.exportMwh && r.boots === cursor.boots);
      const at = sent[k];
      const mine = slots.filter((s) => s.meterId === info.uid);
      outcomes.push({
        node: info.node,
        uid: info.uid,
        storedImportMwh: mine.reduce((n, s) => n + s.importMwh, 0),
        storedExportMwh: mine.reduce((n, s) => n + s.exportMwh, 0),
        countedImportMwh: at?.countedImportMwh ?? -1,
        countedExportMwh: at?.countedExportMwh ?? -1,
        reboots: at?.reboots ?? 0,
        cursorCurrent: k >= 0 && k >= sent.length - 2,
        pendingGaps: gaps.filter((g) => g.uid === info.uid).length,
      });
    }
    // The bill of the simulated span, by the library, from the store and the test's prices.
    const tariff = this.config.tariff;
    const period = rangePeriod(Math.min(...slots.map((s) => s.start)), Math.max(...slots.map((s) => s.start)) + SLOT_MS, tariff.timeZone);
    const spot: PriceSlot[] = [];
    for (let start = period.start; start < period.end; start += SLOT_MS) spot.push({ start, end: start + SLOT_MS, price: this.config.spot.base + ((start / SLOT_MS) % 8) * this.config.spot.step });
    const bill = computeBill({ tariff, meters: billMeters(registry.map((m) => ({ uid: m.uid, name: m.name, kind: 'load', gridPoint: false }))), energy: slots, spot, period, now: period.end });
    const line = (kind: string) => bill.lines.filter((l) => l.kind === kind).reduce((n, l) => n + l.amountCents, 0);
    return {
      meters: outcomes,
      faults: this.faults,
      reports: Object.fromEntries(this.reports),
      unexplained: this.unexplained,
      slots: slots.map((s) => ({ uid: s.meterId, start: s.start, importMwh: s.importMwh })),
      bill: { totalCents: bill.totalCents, energyCents: line('energy'), gridCents: line('grid-fee'), exciseCents: line('excise'), vatCents: line('vat'), importMwh: bill.importMwh },
      energyRecords: this.#energyRecords,
      snapshots: this.#snapshots,
    };
  }
}

export interface SoakHandle {
  start(config: SoakConfig): Promise<void>;
  run(hours: number): Promise<SoakProgress>;
  finish(): Promise<SoakOutcome>;
}

declare global {
  interface Window {
    __soak?: SoakHandle;
  }
}

let soak: Soak | undefined;
window.__soak = {
  async start(config) {
    soak = new Soak(config);
    await soak.start();
  },
  async run(hours) {
    if (!soak) throw new Error('the soak has not started');
    try {
      return await soak.run(hours);
    } catch (error) {
      throw new Error(`soak run failed: ${errorMessage(error)}`);
    }
  },
  async finish() {
    if (!soak) throw new Error('the soak has not started');
    return soak.finish();
  },
};
