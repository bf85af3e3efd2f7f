import { describe, expect, it } from 'vitest';
import { activePowerRequest, decodePowerReply } from '../meter/protocol';
import type { CanFrame } from '../can/frame';
import { EventScheduler } from './scheduler';
import { SimulatedMeter } from './simulated-meter';
import { meterCoreModule } from './testing/sim-rig';
import { VirtualCanBus } from './virtual-bus';
import { activePower, currentRms, type Draw, electronics, resistive, voltageRms, waveformOf } from './waveforms';

async function meterOnBus(draw: Draw) {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
  const meter = new SimulatedMeter(await meterCoreModule(), scheduler, bus, { nodeId: 9, name: 'under test', load: () => draw });
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

  it('answers a remote frame on the bus with its power', async () => {
    const { scheduler, host, received } = await meterOnBus(resistive(1500)(0));
    scheduler.advanceTo(300e6);
    host.send(activePowerRequest(9));
    scheduler.advanceBy(5e6);
    expect(received).toHaveLength(1);
    const reply = decodePowerReply(received[0] as CanFrame);
    if (!reply) throw new Error('not a power reply');
    expect(reply.node).toBe(9);
    expect(Math.abs(reply.watts - 1500) / 1500).toBeLessThan(0.005);
  });

  it('stays quiet before its first window and for other meters', async () => {
    const { scheduler, host, received } = await meterOnBus(resistive(1500)(0));
    host.send(activePowerRequest(9)); // no window measured yet
    host.send(activePowerRequest(10)); // someone else
    scheduler.advanceBy(5e6);
    expect(received).toEqual([]);
  });
});
