import { describe, expect, it } from 'vitest';
import { FunctionCode } from '../meter/ids';
import { deriveMeterKey } from '../meter/keys';
import { requestFrame } from '../meter/link';
import { decodeSnapshot, type SnapshotRecord } from '../meter/records';
import { open } from '../meter/secure';
import { Reassembler } from '../meter/segmentation';
import { MeterStat } from './meter-core';
import type { CanFrame } from '../can/frame';
import { EventScheduler } from './scheduler';
import { SimulatedMeter } from './simulated-meter';
import { meterCoreModule, TEST_SITE_KEY } from './testing/sim-rig';
import { VirtualCanBus } from './virtual-bus';
import { activePower, currentRms, type Draw, electronics, resistive, voltageRms, waveformOf } from './waveforms';

async function meterOnBus(draw: Draw) {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
  const meter = new SimulatedMeter(await meterCoreModule(), scheduler, bus, { nodeId: 9, name: 'under test', load: () => draw, siteKey: TEST_SITE_KEY });
  const host = bus.attach('host');
  const received: CanFrame[] = [];
  host.onReceive = (frame) => received.push(frame);
  return { scheduler, meter, host, received };
}

describe('SimulatedMeter (firmware core in WebAssembly behind a simulated 12-bit ADC)', () => {
  it.each([
    ['a kettle', resistive(2000)(0)],
    ['electronics with harmonics', electronics(310)(0)],
    ['a PV inverter exporting', { power: -2500, powerFactor: 0.98, harmonics: [{ order: 5, ratio: 0.03, phase: 1 }] }],
  ])('measures %s as it was fed', async (_, draw) => {
    const { scheduler, meter } = await meterOnBus(draw);
    scheduler.advanceTo(1e9);
    const fed = waveformOf(meter.supply, draw);
    const m = meter.core.measurement();
    expect(m.seq).toBeGreaterThanOrEqual(4); // 10-cycle windows: five a second
    expect(Math.abs(m.vrms - voltageRms(fed)) / voltageRms(fed)).toBeLessThan(0.002);
    expect(Math.abs(m.irms - currentRms(fed)) / currentRms(fed)).toBeLessThan(0.005);
    expect(Math.abs(m.power - activePower(fed)) / Math.abs(activePower(fed))).toBeLessThan(0.005);
    expect(m.frequency).toBeCloseTo(50, 2);
  });

  it('answers a remote frame with a SNAPSHOT the aggregator can verify', async () => {
    const { scheduler, host, received, meter } = await meterOnBus(resistive(1500)(0));
    scheduler.advanceTo(400e6);
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(10e6);
    const snapshot = verified(received, meter.uid, 0);
    expect(snapshot.fv).toBeGreaterThan(0);
    expect(Math.abs(snapshot.record.watts - 1500) / 1500).toBeLessThan(0.005);
    expect(snapshot.record.relayOn).toBe(true);
  });

  it('stays quiet before its first window and for other meters', async () => {
    const { scheduler, host, received } = await meterOnBus(resistive(1500)(0));
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9)); // no window measured yet
    host.send(requestFrame(FunctionCode.SNAPSHOT, 10)); // someone else
    scheduler.advanceBy(5e6);
    expect(received).toEqual([]);
  });

  it('keeps its freshness counter across a reboot, through its nonvolatile state', async () => {
    const { scheduler, host, received, meter } = await meterOnBus(resistive(800)(0));
    scheduler.advanceTo(400e6);
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(10e6);
    const before = verified(received, meter.uid, 0);
    meter.reboot();
    expect(meter.core.stat(MeterStat.BOOTS)).toBe(2);
    received.length = 0;
    scheduler.advanceBy(400e6);
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(10e6);
    const after = verified(received, meter.uid, before.fv);
    expect(after.fv).toBeGreaterThan(before.fv);
  });
});

/** Reassembles and opens one SNAPSHOT from `frames` with the key the aggregator derives. */
function verified(frames: readonly CanFrame[], uid: Uint8Array, lastFv: number): { fv: number; record: SnapshotRecord } {
  const reassembler = new Reassembler({ now: () => 0 });
  const events = frames.flatMap((f) => reassembler.push(f));
  const message = events.find((e) => e.kind === 'message');
  if (!message || message.kind !== 'message') throw new Error(`no complete message in ${frames.length} frames`);
  const opened = open(deriveMeterKey(TEST_SITE_KEY, uid), message.id, message.body, lastFv);
  if (!opened.ok) throw new Error(`record rejected: ${opened.reason} (${opened.detail})`);
  const decoded = decodeSnapshot(opened.payload);
  if (!decoded.ok) throw new Error(`snapshot unreadable: ${decoded.detail}`);
  return { fv: opened.fv, record: decoded.value };
}
