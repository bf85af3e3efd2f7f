/**
 * A household on the simulated bus with the aggregator and the historian over fake-indexeddb, for
 * Node tests: the app's real code from the meters' firmware core up to the history store.
 */
import 'fake-indexeddb/auto';
import type { CanTransport } from '../can/transport';
import type { EnergyRecord } from '../meter/records';
import { openSlcanTransport } from '../can/slcan/serial-transport';
import { type SimRig, simRig } from '../sim/testing/sim-rig';
import type { MeterSpec } from '../sim/scenarios';
import { openHistory, type HistoryDb } from '../store/schema';
import { Aggregator, type AggregatorOptions } from './aggregator';
import { Historian, type HistorianOptions } from './historian';
import { manualTimers } from './testing';

/** 2026-12-01 00:00 UTC: virtual time zero of the history tests. */
export const HISTORY_T0 = Date.UTC(2026, 11, 1);

let dbCounter = 0;

export interface AppSession {
  readonly aggregator: Aggregator;
  readonly historian: Historian;
  readonly timers: ReturnType<typeof manualTimers>;
  readonly transport: CanTransport;
  /** Every ENERGY record the aggregator verified in this session, by node. */
  readonly energy: Map<number, EnergyRecord[]>;
}

export interface HistoryRig {
  readonly rig: SimRig;
  readonly dbName: string;
  db: HistoryDb;
  session: AppSession | undefined;
  /** Opens the app: a fresh aggregator and historian over the same database (a tab opened). */
  open(options?: Partial<HistorianOptions>): Promise<AppSession>;
  /** Pulls the adapter out of the USB port: the transport dies, the app stays open. */
  unplug(): void;
  /** Plugs it back: the app opens it again and carries on with the same historian. */
  replug(): Promise<void>;
  /** Closes the app: final flush, aggregator stopped, database closed (a tab closed). */
  close(): Promise<void>;
  /** Polls once a second for `seconds` of virtual time, flushing every `flushEvery` seconds. */
  poll(seconds: number, flushEvery?: number): Promise<void>;
  /** Polls every `periodS` seconds for `seconds`, in steps of `stepMs` (long simulations). */
  pollCoarse(seconds: number, periodS: number, stepMs?: number): Promise<void>;
  /** Lets virtual time pass with the app closed: the meters keep measuring. */
  pass(ms: number): void;
  /** Polls until the historian's history reads are done (at most `maxSeconds`). */
  settle(maxSeconds?: number): Promise<void>;
}

export async function historyRig(specs: readonly MeterSpec[], bitrate = 125_000, aggregatorOptions: Partial<AggregatorOptions> = {}): Promise<HistoryRig> {
  const rig = await simRig(specs, bitrate, HISTORY_T0);
  const dbName = `history-test-${++dbCounter}-${Math.random().toString(36).slice(2)}`;
  let firstTransport: CanTransport | undefined = rig.transport;
  /** A new aggregator on `transport`, recorded by `historian`, through its discovery sweeps. */
  async function startAggregator(transport: CanTransport, historian: Historian, energy: Map<number, EnergyRecord[]>) {
    const timers = manualTimers();
    const aggregator = new Aggregator(transport, { ...rig.site, now: rig.nowMs, timers, bitrate, ...aggregatorOptions });
    historian.attach(aggregator);
    aggregator.subscribe({ energy: (node, record) => energy.set(node, [...(energy.get(node) ?? []), record]) });
    aggregator.start();
    await rig.run(150, 5);
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(150, 5);
    }
    return { aggregator, timers, transport };
  }

  const self: HistoryRig = {
    rig,
    dbName,
    db: await openHistory(dbName),
    session: undefined,
    async open(options = {}) {
      if (self.session) throw new Error('the app is open already');
      const transport = firstTransport ?? (await openSlcanTransport(rig.adapter.port, { bitrate, now: rig.nowMs }));
      firstTransport = undefined;
      self.db = await openHistory(dbName);
      const historian = await Historian.open(self.db, { now: rig.nowMs, ...options });
      const energy = new Map<number, EnergyRecord[]>();
      self.session = { ...(await startAggregator(transport, historian, energy)), historian, energy };
      return self.session;
    },
    unplug() {
      rig.adapter.port.unplug();
    },
    async replug() {
      const s = self.session;
      if (!s) throw new Error('the app is closed');
      await s.aggregator.stop();
      rig.adapter.port.replug();
      const transport = await openSlcanTransport(rig.adapter.port, { bitrate, now: rig.nowMs });
      self.session = { ...s, ...(await startAggregator(transport, s.historian, s.energy)) };
    },
    async pollCoarse(seconds, periodS, stepMs = 100) {
      const s = self.session;
      if (!s) throw new Error('the app is closed');
      for (let k = 0; k < seconds; k += periodS) {
        self.session?.timers.tick();
        await rig.run(periodS * 1000, stepMs);
        if ((k / periodS) % 6 === 5) await self.session?.historian.flush();
      }
    },
    async close() {
      const s = self.session;
      if (!s) return;
      self.session = undefined;
      // A history read still running is abandoned, as when a tab closes: it is redone next time.
      await s.historian.close();
      await s.aggregator.stop();
      self.db.close();
    },
    async poll(seconds, flushEvery = 10) {
      const s = self.session;
      if (!s) throw new Error('the app is closed');
      for (let k = 1; k <= seconds; k++) {
        s.timers.tick();
        await rig.run(1000, 20);
        if (k % flushEvery === 0) await s.historian.flush();
      }
    },
    async settle(maxSeconds = 120) {
      const s = self.session;
      if (!s) throw new Error('the app is closed');
      for (let k = 0; k < maxSeconds && s.historian.status.backfillsRunning > 0; k++) await self.poll(1, 1);
      if (s.historian.status.backfillsRunning > 0) throw new Error(`history reads still running after ${maxSeconds} s`);
      await s.historian.flush();
    },
    pass(ms) {
      rig.scheduler.advanceTo(rig.scheduler.now + ms * 1e6);
    },
  };
  return self;
}
