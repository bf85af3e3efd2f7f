import { describe, expect, it } from 'vitest';
import { canId, FunctionCode } from '../meter/ids';
import { deriveMeterKey } from '../meter/keys';
import { requestFrame } from '../meter/link';
import { ControlOpcode, decodeRecord, decodeSnapshot, encodeCommand, type EventRecord, type SnapshotRecord } from '../meter/records';
import { open, sealFrames } from '../meter/secure';
import { Reassembler } from '../meter/segmentation';
import { MeterStat } from './meter-core';
import type { CanFrame } from '../can/frame';
import { EventScheduler } from './scheduler';
import { SimulatedMeter } from './simulated-meter';
import { meterCoreModule, TEST_SITE_KEY } from './testing/sim-rig';
import { VirtualCanBus } from './virtual-bus';
import {
  activePower,
  currentRms,
  type Draw,
  electronics,
  EUROPEAN_SUPPLY,
  harmonicDistortion,
  resistive,
  type Supply,
  voltageRms,
  waveformOf,
} from './waveforms';

async function meterOnBus(draw: Draw, supply?: Supply) {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
  const meter = new SimulatedMeter(await meterCoreModule(), scheduler, bus, {
    nodeId: 9,
    name: 'under test',
    load: () => draw,
    siteKey: TEST_SITE_KEY,
    ...(supply ? { supply } : {}),
  });
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

  it('off the bus it hears and sends nothing but keeps counting; back on, it answers again', async () => {
    const { scheduler, host, received, meter } = await meterOnBus(resistive(1800)(0));
    scheduler.advanceTo(400e6);
    meter.setOffBus(true);
    expect(meter.offBus).toBe(true);
    const before = meter.core.measurement().energyImportWh;
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(2e9);
    expect(received.filter((f) => !f.remote)).toEqual([]);
    // 1.8 kW for 2 s: 1 Wh, counted while nobody could hear it.
    expect(meter.core.measurement().energyImportWh - before).toBeCloseTo(1, 1);
    meter.setOffBus(false);
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(10e6);
    expect(verified(received, meter.uid, 0).record.watts).toBeGreaterThan(1700);
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

  it('measures THD to the 40th harmonic and sends it in its SNAPSHOT', async () => {
    const load = electronics(310)(0);
    // a supply with a 39th harmonic too (the paper's 256-point FFT stops at the 12th)
    const supply: Supply = { ...EUROPEAN_SUPPLY, harmonics: [...EUROPEAN_SUPPLY.harmonics, { order: 39, ratio: 0.02, phase: 1.2 }] };
    const { scheduler, host, received, meter } = await meterOnBus(load, supply);
    scheduler.advanceTo(1e9);
    const m = meter.core.measurement();
    const thdV = harmonicDistortion(supply.harmonics);
    const thdI = harmonicDistortion(load.harmonics);
    expect(thdV).toBeCloseTo(2.69, 2);
    expect(m.thdVoltagePercent).toBeDefined();
    expect(Math.abs((m.thdVoltagePercent ?? 0) - thdV)).toBeLessThan(0.03);
    expect(Math.abs((m.thdCurrentPercent ?? 0) - thdI)).toBeLessThan(0.1);
    expect(m.flagged).toBe(false);
    host.send(requestFrame(FunctionCode.SNAPSHOT, 9));
    scheduler.advanceBy(10e6);
    const snapshot = verified(received, meter.uid, 0);
    expect(Math.abs((snapshot.record.thdVoltagePercent ?? 0) - thdV)).toBeLessThan(0.03);
    expect(Math.abs((snapshot.record.thdCurrentPercent ?? 0) - thdI)).toBeLessThan(0.1);
  });

  it('logs a dip of its supply, reads it out over CAN, and flags the windows it touched', async () => {
    const supply: Supply = { ...EUROPEAN_SUPPLY, events: [{ atSeconds: 0.7013, durationSeconds: 0.14, ratio: 0.62 }] };
    const { scheduler, host, received, meter } = await meterOnBus(resistive(1000)(0), supply);
    const flagged: boolean[] = [];
    for (let t = 0.05; t <= 1.6; t += 0.05) {
      scheduler.advanceTo(t * 1e9);
      flagged.push(meter.core.measurement().flagged);
    }
    expect(flagged.some((f) => f)).toBe(true);
    expect(flagged.at(-1)).toBe(false);
    expect(meter.core.measurement().eventsLogged).toBe(1);
    // READ_EVENTS, sealed and read as the aggregator does
    const key = deriveMeterKey(TEST_SITE_KEY, meter.uid);
    const payload = encodeCommand({ function: FunctionCode.CONTROL, opcode: ControlOpcode.READ_EVENTS, fromSeq: 0, maxCount: 16 });
    for (const frame of sealFrames(key, canId(FunctionCode.CONTROL, 9), payload, 1)) host.send(frame);
    scheduler.advanceBy(50e6);
    const events = openedEvents(received, key);
    expect(events).toHaveLength(1);
    const [dip] = events;
    expect(dip?.kindName).toBe('dip');
    expect(Math.abs((dip?.seconds ?? 0) - 0.7013)).toBeLessThan(0.01); // half a cycle
    expect(Math.abs((dip?.durationMs ?? 0) - 140)).toBeLessThan(10);
    expect(Math.abs((dip?.extremeVolts ?? 0) - 0.62 * 230)).toBeLessThan(1);
    // the 150-cycle aggregate of the first 3 s is flagged
    scheduler.advanceTo(3.5e9);
    const agg = meter.core.aggregate150();
    expect(agg?.windows).toBe(15);
    expect(agg?.flagged).toBe(true);
  });

  it('sees the demo supply dip 75 s in, as every meter of the demo bus does', async () => {
    const { scheduler, meter } = await meterOnBus(resistive(500)(0)); // EUROPEAN_SUPPLY
    scheduler.advanceTo(74e9);
    expect(meter.core.measurement().eventsLogged).toBe(0);
    scheduler.advanceTo(76e9);
    expect(meter.core.measurement().eventsLogged).toBe(1);
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

/** Every EVENT record in `frames`, opened with `key` (in order: the FVs must rise) and decoded. */
function openedEvents(frames: readonly CanFrame[], key: Uint8Array): EventRecord[] {
  const fn = FunctionCode.EVENT;
  const reassembler = new Reassembler({ now: () => 0 });
  const records: EventRecord[] = [];
  let fv = 0;
  for (const event of frames.flatMap((f) => reassembler.push(f))) {
    if (event.kind !== 'message') continue;
    const opened = open(key, event.id, event.body, fv);
    if (!opened.ok) throw new Error(`record rejected: ${opened.reason} (${opened.detail})`);
    fv = opened.fv;
    if (event.id !== canId(fn, 9)) continue;
    const decoded = decodeRecord(fn, opened.payload);
    if (!decoded.ok || decoded.value.function !== fn) throw new Error('record unreadable');
    records.push(decoded.value.event);
  }
  return records;
}

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
