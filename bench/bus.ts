/**
 * Bus figures: one poll on the virtual bus against the frames' exact on-wire time; the poll cycle
 * of 32 meters against the protocol's bus-time bound; request-to-record latency through the app.
 */
import { frameOnWireBits, worstCaseFrameBits } from '../src/lib/can/bit-timing';
import type { CanFrame } from '../src/lib/can/frame';
import { FunctionCode } from '../src/lib/meter/ids';
import { requestFrame } from '../src/lib/meter/link';
import { EventScheduler } from '../src/lib/sim/scheduler';
import { SimulatedMeter } from '../src/lib/sim/simulated-meter';
import { meterCoreModule, TEST_SITE_KEY } from '../src/lib/sim/testing/sim-rig';
import { VirtualCanBus } from '../src/lib/sim/virtual-bus';
import { resistive } from '../src/lib/sim/waveforms';
import type { Figures } from './figures';

const RESPONSE_DELAY_NS = 150_000;

/** Polls `meters` meters once, all requests at once, in virtual time; returns the cycle and its frames. */
async function pollCycle(meters: number, bitrate: number) {
  const module = await meterCoreModule();
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate });
  for (let node = 1; node <= meters; node++) {
    new SimulatedMeter(module, scheduler, bus, { nodeId: node, name: `m${node}`, load: resistive(100 * node), siteKey: TEST_SITE_KEY, responseDelayNs: RESPONSE_DELAY_NS });
  }
  const host = bus.attach('aggregator');
  scheduler.advanceTo(500e6); // the meters have measured a window
  const frames: CanFrame[] = [];
  let lastAt = 0;
  host.onReceive = (frame, endNs) => {
    frames.push(frame);
    lastAt = endNs;
  };
  const requests = Array.from({ length: meters }, (_, i) => requestFrame(FunctionCode.SNAPSHOT, i + 1));
  const sentAt = scheduler.now;
  for (const r of requests) host.send(r);
  scheduler.advanceBy(2e9);
  const all = [...requests, ...frames];
  const onWireNs = (bits: number) => (bits * 1e9) / bitrate;
  return {
    cycleNs: lastAt - sentAt,
    records: frames.length / 6,
    exactNs: onWireNs(all.reduce((sum, f) => sum + frameOnWireBits(f).total, 0)),
    worstNs: onWireNs(all.reduce((sum, f) => sum + worstCaseFrameBits(f), 0)),
  };
}

export async function benchBus(figures: Figures): Promise<void> {
  const one = await pollCycle(1, 125_000);
  figures.add('bus', 'poll_one_meter_125k_ms', one.cycleNs / 1e6, 'ms', '< 25 (paper: 25 and 60)', 'remote frame → meter → six-frame SNAPSHOT, virtual time, meter reaction 150 µs');
  for (const bitrate of [125_000, 500_000]) {
    const kbit = bitrate / 1000;
    const cycle = await pollCycle(32, bitrate);
    if (cycle.records !== 32) throw new Error(`only ${cycle.records} of 32 meters answered`);
    figures.add('bus', `poll_cycle_32_meters_${kbit}k_ms`, cycle.cycleNs / 1e6, 'ms', '≤ 1000', 'all 32 SNAPSHOT requests pipelined');
    figures.add('bus', `poll_cycle_32_bound_${kbit}k_ms`, cycle.exactNs / 1e6, 'ms', '', 'sum of the exact on-wire times of the cycle\'s frames (stuff bits counted)');
    figures.add('bus', `poll_cycle_32_worst_stuffing_${kbit}k_ms`, cycle.worstNs / 1e6, 'ms', '', 'same frames with worst-case stuffing (docs/protocol.md §6)');
    figures.add('bus', `poll_cycle_32_ratio_${kbit}k`, cycle.cycleNs / cycle.exactNs, 'ratio', '→ 1', 'cycle / exact bus time; the excess is the last meter\'s reaction time');
  }
}

/**
 * The same poll through the whole app path in virtual time: aggregator → slcan driver → emulated
 * adapter (1 ms USB frames) → bus → meter → back, verified. The paper measured 25 ms and 60 ms
 * for its two meters (section 7.4).
 */
export async function benchAppPoll(figures: Figures): Promise<void> {
  const { rigWithAggregator } = await import('../src/lib/aggregator/testing');
  const t = await rigWithAggregator({ 1: 1000, 2: 500 });
  await t.discover();
  t.readings.length = 0;
  for (let i = 0; i < 20; i++) {
    t.timers.tick();
    await t.rig.run(20, 0.05);
    await t.rig.run(80);
  }
  await t.aggregator.stop();
  const latencies = t.readings.map((r) => r.latencyMs ?? NaN).sort((a, b) => a - b);
  figures.add('bus', 'poll_app_latency_median_ms', latencies[Math.floor(latencies.length / 2)] ?? NaN, 'ms', '< 25 (paper: 25 and 60)', 'two meters, 125 kbit/s, slcan emulator with 1 ms USB frames, verified record, virtual time');
  figures.add('bus', 'poll_app_latency_max_ms', latencies.at(-1) ?? NaN, 'ms', '< 25', `${latencies.length} records`);
}
