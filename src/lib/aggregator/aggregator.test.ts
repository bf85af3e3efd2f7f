import { describe, expect, it } from 'vitest';
import { frameDurationNs } from '../can/bit-timing';
import { activePower, EUROPEAN_SUPPLY, resistive, waveformOf } from '../sim/waveforms';
import { simRig } from '../sim/testing/sim-rig';
import { Aggregator, type SnapshotReading } from './aggregator';
import { manualTimers, rigWithAggregator } from './testing';

describe('Aggregator on the simulated bus', () => {
  it('identifies the meters by a verified STATUS, then reads verified snapshots', async () => {
    const { rig, aggregator, readings, links, identified, discover } = await rigWithAggregator({ 3: 2300, 17: 400 });
    await discover();
    expect(links).toEqual(['connecting', 'connected']);
    expect(identified.sort((a, b) => a - b)).toEqual([3, 17]);
    expect(aggregator.meters).toEqual([3, 17]);
    for (const node of [3, 17]) {
      const reading = readings.findLast((r) => r.node === node);
      const meter = rig.meters.find((m) => m.nodeId === node);
      if (!reading || !meter) throw new Error(`no reading from meter ${node}`);
      const expected = activePower(waveformOf(EUROPEAN_SUPPLY, meter.drawAt(0)));
      expect(Math.abs(reading.record.watts - expected) / expected).toBeLessThan(0.005);
      expect(aggregator.rejections(node)).toEqual({ 'bad-mac': 0, stale: 0, malformed: 0, 'unknown-uid': 0 });
    }
    await aggregator.stop();
  });

  it('pipelines a cycle: it takes the bus time of its frames, not round trips', async () => {
    const nodes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [i + 1, 100 * (i + 1)]));
    const { rig, timers, aggregator, readings, discover } = await rigWithAggregator(nodes);
    await discover();
    readings.length = 0;
    rig.bus.resetStats();
    const frames: number[] = [];
    const spy = rig.bus.attach('spy');
    spy.onReceive = (frame) => frames.push(frameDurationNs(frame, rig.bus.bitrate));
    timers.tick(); // cycle 5: one SNAPSHOT request per meter, nothing else due
    await rig.run(200, 0.1);
    expect(readings.map((r) => r.node).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(frames).toHaveLength(8 * 7); // 8 remote frames, 8 six-frame records
    const busyMs = frames.reduce((a, b) => a + b, 0) / 1e6;
    const slowest = Math.max(...readings.map((r) => r.latencyMs ?? Infinity));
    // The last record lands within the bus time of the whole cycle plus USB framing and meter reaction.
    expect(slowest).toBeLessThan(busyMs + 3);
    expect(slowest).toBeGreaterThan(busyMs * 0.8);
    await aggregator.stop();
  });

  it('calls a meter silent after missed polls, and accepts it again after it reboots from flash', async () => {
    const { rig, timers, aggregator, presence, readings, discover } = await rigWithAggregator({ 5: 1000 });
    await discover();
    const meter = rig.meters[0];
    if (!meter) throw new Error('no meter');
    meter.remove(); // power cut
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(100);
    }
    expect(presence.at(-1)).toEqual({ node: 5, missed: 3, silent: true });
    // Power comes back: the meter boots from its flash, its counter continues.
    rig.addMeter({ nodeId: 5, name: 'rebooted', load: resistive(1000) });
    await rig.run(400);
    readings.length = 0;
    timers.tick();
    await rig.run(100);
    expect(presence.at(-1)).toEqual({ node: 5, missed: 0, silent: false });
    expect(readings).toHaveLength(1);
    expect(aggregator.rejections(5)?.stale).toBe(0);
    await aggregator.stop();
  });

  it('finds a meter that joins the bus later, at the next discovery sweep', async () => {
    const { rig, timers, aggregator, discover } = await rigWithAggregator({ 1: 50 });
    await discover();
    rig.addMeter({ nodeId: 42, name: 'late', load: resistive(700) });
    await rig.run(300);
    for (let i = 0; i < 6; i++) {
      timers.tick(); // cycles 5..10; cycle 10 sweeps
      await rig.run(150);
    }
    expect(aggregator.meters).toEqual([1, 42]);
    await aggregator.stop();
  });

  it('switches a relay with an authenticated command and gets the ACK', async () => {
    const { rig, aggregator, discover } = await rigWithAggregator({ 6: 1200 });
    await discover();
    const ack = aggregator.setRelay(6, false);
    await rig.run(50);
    await expect(ack).resolves.toMatchObject({ result: 0, value: 0 });
    expect(rig.meters[0]?.core.relayOn).toBe(false);
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

  it('tells the meters the time again at once when its own clock steps back (a wrong clock corrected)', async () => {
    const T0 = Date.UTC(2026, 11, 1, 12);
    const rig = await simRig([{ nodeId: 5, name: 'm5', load: resistive(500) }], 125_000, T0);
    let offsetMs = 2 * 3_600_000; // the tablet's clock is two hours ahead
    const timers = manualTimers();
    const aggregator = new Aggregator(rig.transport, { ...rig.site, now: () => rig.nowMs() + offsetMs, timers });
    const readings: SnapshotReading[] = [];
    aggregator.subscribe({ snapshot: (r) => readings.push(r) });
    await rig.run(300);
    aggregator.start();
    for (let i = 0; i < 8; i++) {
      await rig.run(1000, 5);
      timers.tick();
    }
    await rig.run(300, 5);
    // The meters took the wrong time from the start-up broadcast.
    const before = readings.at(-1)?.record.seconds ?? 0;
    expect(Math.abs(before * 1000 - (rig.nowMs() + offsetMs))).toBeLessThan(1500);
    offsetMs = 0;
    for (let i = 0; i < 3; i++) {
      timers.tick();
      await rig.run(1000, 5);
    }
    // Long before the periodic broadcast (every 600 cycles), the meters run on the corrected clock.
    const after = readings.at(-1)?.record.seconds ?? 0;
    expect(Math.abs(after * 1000 - rig.nowMs())).toBeLessThan(1500);
    await aggregator.stop();
  });
});
