/**
 * Attacks through the simulated bus: an intruder node next to the meters (wasm firmware core) and
 * the aggregator (src/lib/meter), each side checking what the other sends.
 */
import { describe, expect, it } from 'vitest';
import type { CanFrame } from '../can/frame';
import { memoryCounterStore, SenderCounter } from '../meter/freshness';
import { canId, FunctionCode } from '../meter/ids';
import { requestFrame } from '../meter/link';
import { encodeCommand, encodeSnapshot } from '../meter/records';
import { sealFrames } from '../meter/secure';
import { MeterStat } from '../sim/meter-core';
import { seededRandom } from '../sim/random';
import { TEST_SITE_KEY } from '../sim/testing/sim-rig';
import { Aggregator } from './aggregator';
import { ephemeralSite } from './site';
import { manualTimers, rigWithAggregator } from './testing';

/** A node on the bus that records everything and sends whatever it likes. */
function intruder(rig: Awaited<ReturnType<typeof rigWithAggregator>>['rig']) {
  const node = rig.bus.attach('intruder');
  const heard: CanFrame[] = [];
  node.onReceive = (frame) => heard.push(frame);
  return { node, heard, send: (frames: readonly CanFrame[]) => frames.forEach((f) => node.send(f)) };
}

describe('attacks on the simulated bus', () => {
  it('replayed records are rejected as stale and never shown', async () => {
    const t = await rigWithAggregator({ 3: 2000 });
    const spy = intruder(t.rig);
    await t.discover();
    const snapshotId = canId(FunctionCode.SNAPSHOT, 3);
    const captured = spy.heard.filter((f) => f.id === snapshotId && !f.remote).slice(0, 6);
    expect(captured).toHaveLength(6);
    t.readings.length = 0;
    spy.send(captured);
    await t.rig.run(50);
    expect(t.readings).toEqual([]);
    expect(t.rejections.map((r) => [r.node, r.reason])).toEqual([[3, 'stale']]);
    await t.aggregator.stop();
  });

  it('a record forged without the key is rejected for its MAC', async () => {
    const t = await rigWithAggregator({ 3: 2000 });
    const spy = intruder(t.rig);
    await t.discover();
    const fake = encodeSnapshot({ timeS: 0, timeCs: 0, flags: 1, vrms: 23000, irms: 1, p: 9_999_000, n: 0, pf: 10000, f: 50000, thdV: 0xffff, thdI: 0xffff });
    const wrongKey = new Uint8Array(32).fill(7);
    t.readings.length = 0;
    spy.send(sealFrames(wrongKey, canId(FunctionCode.SNAPSHOT, 3), fake, 0x7fffffff));
    await t.rig.run(50);
    expect(t.readings).toEqual([]);
    expect(t.rejections.map((r) => r.reason)).toEqual(['bad-mac']);
    await t.aggregator.stop();
  });

  it('a flood of forged commands switches nothing; the meter locks out and a genuine command still works', async () => {
    const t = await rigWithAggregator({ 4: 1500 });
    const spy = intruder(t.rig);
    await t.discover();
    const meter = t.rig.meters[0];
    if (!meter) throw new Error('no meter');
    const random = seededRandom(99);
    const id = canId(FunctionCode.RELAY, 4);
    const payload = encodeCommand({ function: FunctionCode.RELAY, state: 0 });
    const forged = 300;
    for (let i = 0; i < forged; i++) {
      const guessedKey = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
      spy.send(sealFrames(guessedKey, id, payload, 1_000_000 + i));
    }
    await t.rig.run(1200, 1); // the whole flood at full bus speed
    expect(meter.core.relayOn).toBe(true);
    const checked = meter.core.stat(MeterStat.REJECTED_MAC);
    const dropped = meter.core.stat(MeterStat.RATE_LIMITED);
    expect(checked + dropped).toBe(forged);
    expect(dropped).toBeGreaterThan(0); // the lockout spared the meter most verifications
    expect(checked).toBeLessThan(forged / 2);
    await t.rig.run(1500); // lockout over
    const ack = t.aggregator.setRelay(4, false);
    await t.rig.run(50);
    await expect(ack).resolves.toMatchObject({ result: 0 });
    expect(meter.core.relayOn).toBe(false);
    await t.aggregator.stop();
  });

  it('after a meter reboots, its freshness continues and an old command cannot be replayed to it', async () => {
    const t = await rigWithAggregator({ 5: 900 });
    const spy = intruder(t.rig);
    await t.discover();
    const off = t.aggregator.setRelay(5, false);
    await t.rig.run(50);
    await off;
    const relayId = canId(FunctionCode.RELAY, 5);
    const offCommand = spy.heard.filter((f) => f.id === relayId);
    const on = t.aggregator.setRelay(5, true);
    await t.rig.run(50);
    await on;
    const meter = t.rig.meters[0];
    if (!meter) throw new Error('no meter');
    const fvBefore = meter.core.stat(MeterStat.TX_FV);
    meter.reboot();
    await t.rig.run(400);
    spy.send(offCommand); // the old "off", replayed after the reboot
    await t.rig.run(50);
    expect(meter.core.relayOn).toBe(true);
    expect(meter.core.stat(MeterStat.REJECTED_STALE)).toBe(1);
    t.readings.length = 0;
    t.timers.tick();
    await t.rig.run(100);
    expect(t.readings).toHaveLength(1);
    expect(meter.core.stat(MeterStat.TX_FV)).toBeGreaterThan(fvBefore);
    expect(t.aggregator.rejections(5)?.stale).toBe(0);
    await t.aggregator.stop();
  });

  it('forged remote frames only get rate-limited, authentic records, which the aggregator notices', async () => {
    const t = await rigWithAggregator({ 6: 700 });
    const spy = intruder(t.rig);
    await t.discover();
    const meter = t.rig.meters[0];
    if (!meter) throw new Error('no meter');
    const sentBefore = meter.core.stat(MeterStat.TX_FV);
    for (let i = 0; i < 200; i++) spy.send([requestFrame(FunctionCode.SNAPSHOT, 6)]);
    await t.rig.run(1000, 1);
    const recordsSent = meter.core.stat(MeterStat.TX_FV) - sentBefore;
    expect(recordsSent).toBeLessThanOrEqual(12); // at most one per 100 ms
    expect(meter.core.stat(MeterStat.RATE_LIMITED)).toBeGreaterThan(150);
    expect(t.unsolicited.length).toBeGreaterThan(0);
    expect(t.aggregator.rejections(6)).toEqual({ 'bad-mac': 0, stale: 0, malformed: 0, 'unknown-uid': 0 });
    await t.aggregator.stop();
  });

  it("an aggregator counter near wrap sends up to 0xFFFFFFFF, then refuses; the meter accepts each until then", async () => {
    const t = await rigWithAggregator({ 7: 300 });
    await t.discover();
    await t.aggregator.stop();
    // A second aggregator session whose counter store says 0xFFFFFFFC was reserved last.
    const base = await ephemeralSite(TEST_SITE_KEY);
    const counter = await SenderCounter.open(memoryCounterStore(0xfffffffc));
    const { openSlcanTransport } = await import('../can/slcan/serial-transport');
    const transport = await openSlcanTransport(t.rig.adapter.port, { bitrate: 125_000, now: t.rig.nowMs });
    const timers = manualTimers();
    const aggregator = new Aggregator(transport, { siteKey: base.siteKey, counter, freshness: base.freshness, now: t.rig.nowMs, timers });
    aggregator.start();
    await t.rig.run(600);
    const meter = t.rig.meters[0];
    if (!meter) throw new Error('no meter');
    const results: string[] = [];
    for (const on of [false, true, false]) {
      const ack = aggregator.setRelay(7, on).then(
        (a) => `ack ${a.result}`,
        (e: unknown) => `refused: ${e instanceof Error ? e.name : String(e)}`,
      );
      await t.rig.run(100);
      results.push(await ack);
    }
    // The start-up time broadcast took 0xFFFFFFFD; the relay commands 0xFFFFFFFE and 0xFFFFFFFF.
    expect(results).toEqual(['ack 0', 'ack 0', 'refused: CounterExhaustedError']);
    expect(meter.core.stat(MeterStat.LAST_AGGREGATOR_FV)).toBe(0xffffffff);
    expect(meter.core.relayOn).toBe(true);
    await aggregator.stop();
  });
});
