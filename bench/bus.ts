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

/**
 * The same poll through the whole app path in virtual time: aggregator → slcan driver → emulated
 * adapter (1 ms USB frames) → bus → meter → back. The paper measured 25 ms and 60 ms for its two
 * meters (section 7.4).
 */
export async function benchAppPoll(figures: Figures): Promise<void> {
  const { simRig } = await import('../src/lib/sim/testing/sim-rig');
  const { Aggregator } = await import('../src/lib/aggregator/aggregator');
  const rig = await simRig([
    { nodeId: 1, name: 'a', load: resistive(1000) },
    { nodeId: 2, name: 'b', load: resistive(500) },
  ]);
  let tick: () => void = () => undefined;
  const aggregator = new Aggregator(rig.transport, {
    now: rig.nowMs,
    timers: { setInterval: (fn) => ((tick = fn), 1), clearInterval: () => undefined },
  });
  const latencies: number[] = [];
  aggregator.subscribe({ reading: (r) => latencies.push(r.latencyMs) });
  await rig.run(400);
  aggregator.start();
  await rig.run(100);
  latencies.length = 0;
  for (let i = 0; i < 20; i++) {
    tick();
    await rig.run(20, 0.05);
    await rig.run(80);
  }
  await aggregator.stop();
  latencies.sort((a, b) => a - b);
  figures.add('bus', 'poll_app_latency_median_ms', latencies[Math.floor(latencies.length / 2)] ?? NaN, 'ms', '< 25 (paper: 25 and 60)', 'two meters, 125 kbit/s, via slcan adapter emulator (1 ms USB frames), virtual time, 50 µs resolution');
  figures.add('bus', 'poll_app_latency_max_ms', latencies.at(-1) ?? NaN, 'ms', '< 25', `${latencies.length} replies`);
}
