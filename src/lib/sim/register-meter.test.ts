import { describe, expect, it } from 'vitest';
import { Aggregator } from '../aggregator/aggregator';
import { ephemeralSite } from '../aggregator/site';
import { manualTimers } from '../aggregator/testing';
import { openSlcanTransport } from '../can/slcan/serial-transport';
import type { EnergyRecord, SnapshotRecord } from '../meter/records';
import { RegisterMeter } from './register-meter';
import { EventScheduler } from './scheduler';
import { simulatedUid } from './simulated-meter';
import { SlcanAdapterEmulator } from './slcan-adapter';
import { TEST_SITE_KEY } from './testing/sim-rig';
import { VirtualCanBus } from './virtual-bus';

const T0 = Date.UTC(2026, 11, 1);
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RegisterMeter', () => {
  it('speaks the protocol the aggregator verifies: discovered, polled, its registers exact, a reboot loses under a Wh', async () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 500_000 });
    const adapter = new SlcanAdapterEmulator(scheduler, bus);
    // 1.8 kW, then 0, then 1.8 kW: one-minute steps.
    const meter = new RegisterMeter(scheduler, bus, { nodeId: 9, uid: simulatedUid(9), siteKey: TEST_SITE_KEY, load: (k) => (k % 3 === 1 ? 0 : 1800) });
    const nowMs = () => T0 + scheduler.now / 1e6;
    const transport = await openSlcanTransport(adapter.port, { bitrate: 500_000, now: nowMs });
    const timers = manualTimers();
    const aggregator = new Aggregator(transport, { ...(await ephemeralSite(TEST_SITE_KEY)), now: nowMs, timers, energyEveryCycles: 2 });
    const energy: EnergyRecord[] = [];
    const snapshots: SnapshotRecord[] = [];
    aggregator.subscribe({ energy: (_n, r) => energy.push(r), snapshot: (r) => snapshots.push(r.record) });
    const run = async (ms: number) => {
      const end = scheduler.now + ms * 1e6;
      while (scheduler.now < end) {
        scheduler.advanceTo(Math.min(end, scheduler.now + 2e6));
        await macrotask();
      }
    };
    aggregator.start();
    for (let s = 0; s < 230; s++) {
      await run(1000);
      timers.tick();
      if (s === 150) meter.reboot();
    }
    await run(200);
    expect(aggregator.meters).toEqual([9]);
    expect(snapshots.at(-1)?.watts).toBe(1800);
    // The start-up TIME broadcast set its clock; the reboot lost it (until the next broadcast).
    expect(snapshots[100]?.timeValid).toBe(true);
    expect(Math.abs((snapshots[100]?.seconds ?? 0) - (T0 / 1000 + 100))).toBeLessThan(2);
    expect(snapshots.at(-1)?.timeValid).toBe(false);
    // What the aggregator verified is what the meter sent, reading for reading.
    expect(energy.length).toBeGreaterThan(100);
    expect(energy.map((r) => [r.importMwh, r.boots])).toEqual(meter.sentEnergy.map((r) => [r.importMwh, r.boots]));
    const last = energy.at(-1) as EnergyRecord;
    expect(last.boots).toBe(2);
    // The registers are the load's exact integral (floored to the mWh), less what the cut took.
    const first = meter.sentEnergy[0] as (typeof meter.sentEnergy)[number];
    const lastSent = meter.sentEnergy.at(-1) as (typeof meter.sentEnergy)[number];
    let exactMwh = 0;
    for (let t = first.atNs; t < lastSent.atNs; ) {
      const k = Math.floor(t / 60e9);
      const end = Math.min(lastSent.atNs, (k + 1) * 60e9);
      exactMwh += ((k % 3 === 1 ? 0 : 1800) * (end - t)) / 3.6e9;
      t = end;
    }
    expect(meter.lostAtPowerCuts).toBeGreaterThan(0);
    expect(meter.lostAtPowerCuts).toBeLessThan(1000);
    expect(Math.abs(last.importMwh - first.importMwh + meter.lostAtPowerCuts - exactMwh)).toBeLessThan(2);
    expect(exactMwh).toBeGreaterThan(60_000);
    await aggregator.stop();
  });
});
