import { describe, expect, it } from 'vitest';
import { SimulatedMeter } from '../sim/simulated-meter';
import { meterCoreModule, simRig } from '../sim/testing/sim-rig';
import { activePower, EUROPEAN_SUPPLY, resistive, waveformOf } from '../sim/waveforms';
import { Aggregator, type MeterPresence, type MeterReading, type Timers } from './aggregator';

/** Timers the test fires by hand, in step with virtual time. */
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

async function rigWithAggregator(watts: Record<number, number>) {
  const rig = await simRig(Object.entries(watts).map(([node, w]) => ({ nodeId: Number(node), name: `m${node}`, load: resistive(w) })));
  const timers = manualTimers();
  const aggregator = new Aggregator(rig.transport, { now: rig.nowMs, timers });
  const readings: MeterReading[] = [];
  const presence: MeterPresence[] = [];
  const links: string[] = [];
  aggregator.subscribe({ reading: (r) => readings.push(r), presence: (p) => presence.push(p), link: (s) => links.push(s) });
  await rig.run(300); // the meters complete their first windows
  return { rig, timers, aggregator, readings, presence, links };
}

describe('Aggregator on the simulated bus', () => {
  it('discovers the meters that answer and reads their power', async () => {
    const { rig, aggregator, readings, links } = await rigWithAggregator({ 3: 2300, 17: 400 });
    aggregator.start();
    await rig.run(100);
    expect(links).toEqual(['connecting', 'connected']);
    expect(aggregator.meters).toEqual([3, 17]);
    for (const node of [3, 17]) {
      const reading = readings.find((r) => r.node === node);
      const meter = rig.meters.find((m) => m.nodeId === node);
      if (!reading || !meter) throw new Error(`no reading from meter ${node}`);
      const expected = activePower(waveformOf(EUROPEAN_SUPPLY, meter.drawAt(0)));
      expect(Math.abs(reading.watts - expected) / expected).toBeLessThan(0.005);
    }
    await aggregator.stop();
  });

  it('pipelines a cycle: all requests go out at once, so it takes bus time, not round trips', async () => {
    const nodes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [i + 1, 100 * (i + 1)]));
    const { rig, timers, aggregator, readings } = await rigWithAggregator(nodes);
    aggregator.start(); // discovery sweeps of all 63 ids in the first cycles
    await rig.run(200);
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(50);
    }
    readings.length = 0;
    rig.bus.resetStats();
    timers.tick(); // one polling cycle of the 8 known meters
    await rig.run(100);
    expect(readings.map((r) => r.node).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // 8 remote frames + 8 four-byte replies at 125 kbit/s take ≈ 8 × (0.38 + 0.7) ms of bus time.
    const slowest = Math.max(...readings.map((r) => r.latencyMs));
    expect(slowest).toBeLessThan(15);
    expect(rig.bus.stats().framesDelivered).toBe(16);
    await aggregator.stop();
  });

  it('calls a meter silent after missed polls, and well again when it answers', async () => {
    const { rig, timers, aggregator, presence } = await rigWithAggregator({ 5: 1000 });
    aggregator.start();
    await rig.run(50);
    const meter = rig.meters[0];
    if (!meter) throw new Error('no meter');
    meter.remove();
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(50);
    }
    expect(presence.at(-1)).toEqual({ node: 5, missed: 3, silent: true });
    // Power comes back: the meter boots and answers the next poll.
    new SimulatedMeter(await meterCoreModule(), rig.scheduler, rig.bus, { nodeId: 5, name: 'rebooted', load: resistive(1000) });
    await rig.run(300);
    timers.tick();
    await rig.run(50);
    expect(presence.at(-1)).toEqual({ node: 5, missed: 0, silent: false });
    await aggregator.stop();
  });

  it('finds a meter that joins the bus later, at the next discovery sweep', async () => {
    const { rig, timers, aggregator } = await rigWithAggregator({ 1: 50 });
    aggregator.start();
    await rig.run(50);
    new SimulatedMeter(await meterCoreModule(), rig.scheduler, rig.bus, { nodeId: 42, name: 'late', load: resistive(700) });
    await rig.run(300);
    for (let i = 0; i < 10; i++) {
      timers.tick();
      await rig.run(20);
    }
    expect(aggregator.meters).toEqual([1, 42]);
    await aggregator.stop();
  });

  it('reports a lost adapter', async () => {
    const { rig, aggregator, links } = await rigWithAggregator({ 1: 50 });
    aggregator.start();
    await rig.run(20);
    rig.adapter.port.unplug();
    await rig.run(20);
    expect(links.at(-1)).toBe('disconnected');
    await aggregator.stop();
  });
});
