/**
 * One poll on the virtual bus (a remote frame to a simulated meter, its data-frame reply) timed in
 * virtual time, against the frames' exact on-wire duration.
 */
import { readFileSync } from 'node:fs';
import type { CanFrame } from '../src/lib/can/frame';
import { frameDurationNs, frameOnWireBits, worstCaseFrameBits } from '../src/lib/can/bit-timing';
import { activePowerRequest } from '../src/lib/meter/protocol';
import { compileMeterCore } from '../src/lib/sim/meter-core';
import { EventScheduler } from '../src/lib/sim/scheduler';
import { SimulatedMeter } from '../src/lib/sim/simulated-meter';
import { VirtualCanBus } from '../src/lib/sim/virtual-bus';
import { resistive } from '../src/lib/sim/waveforms';
import type { Figures } from './figures';

export async function benchBus(figures: Figures): Promise<void> {
  const module = await compileMeterCore(readFileSync(new URL('../firmware/build/wasm/meter.wasm', import.meta.url)));
  for (const bitrate of [125_000, 1_000_000]) {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const responseDelayNs = 150_000;
    const meter = new SimulatedMeter(module, scheduler, bus, { nodeId: 1, name: 'bench', load: resistive(1000), responseDelayNs });
    const host = bus.attach('aggregator');
    scheduler.advanceTo(500e6); // a few windows, so the meter has a value to report
    let replyAt: number | undefined;
    let reply: CanFrame | undefined;
    host.onReceive = (frame, endNs) => {
      replyAt ??= endNs;
      reply ??= frame;
    };
    const request = activePowerRequest(meter.nodeId);
    const sentAt = scheduler.now;
    host.send(request);
    scheduler.advanceBy(50e6);
    if (replyAt === undefined || !reply) throw new Error('the simulated meter did not answer');
    const replyBits = frameOnWireBits(reply).total;
    const measuredUs = (replyAt - sentAt) / 1000;
    const requestNs = frameDurationNs(request, bitrate);
    // Lower bound: the request on the wire (EOF, not the intermission: the meter reacts at EOF),
    // the meter's reaction time, then the reply on the wire up to its EOF.
    const boundUs = (requestNs - (3 * 1e9) / bitrate + responseDelayNs + ((replyBits - 3) * 1e9) / bitrate) / 1000;
    const kbit = bitrate / 1000;
    figures.add('bus', `poll_virtual_bus_${kbit}k_us`, measuredUs, 'µs', '= on-wire bound', 'remote frame → meter → data frame, virtual time');
    figures.add('bus', `poll_onwire_bound_${kbit}k_us`, boundUs, 'µs', '', `request ${frameOnWireBits(request).total} bits, reply ${replyBits} bits, meter reaction 150 µs`);
    figures.add('bus', `poll_ratio_${kbit}k`, measuredUs / boundUs, 'ratio', '1.000');
    figures.add('bus', `poll_worst_case_stuffing_${kbit}k_us`, ((worstCaseFrameBits(request) + worstCaseFrameBits(reply)) * 1e9) / bitrate / 1000 + responseDelayNs / 1000, 'µs', '', 'same poll with worst-case stuffing, both frames');
    meter.remove();
  }
}
