/** An aggregator on a simulated bus of wasm meters, for tests; time is virtual, timers fire by hand. */
import { simRig } from '../sim/testing/sim-rig';
import { resistive } from '../sim/waveforms';
import { Aggregator, type MeterPresence, type Rejection, type SnapshotReading, type Timers } from './aggregator';

/** Timers the test fires by hand, in step with virtual time. */
export function manualTimers(): Timers & { tick(): void } {
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

export async function rigWithAggregator(watts: Record<number, number>) {
  const rig = await simRig(Object.entries(watts).map(([node, w]) => ({ nodeId: Number(node), name: `m${node}`, load: resistive(w) })));
  const timers = manualTimers();
  const aggregator = new Aggregator(rig.transport, { ...rig.site, now: rig.nowMs, timers });
  const readings: SnapshotReading[] = [];
  const presence: MeterPresence[] = [];
  const links: string[] = [];
  const identified: number[] = [];
  const rejections: Rejection[] = [];
  const unsolicited: number[] = [];
  aggregator.subscribe({
    rejected: (r) => rejections.push(r),
    unsolicited: (node) => unsolicited.push(node),
    snapshot: (r) => readings.push(r),
    presence: (p) => presence.push(p),
    link: (s) => links.push(s),
    meter: (node) => identified.push(node),
  });
  await rig.run(300); // the meters complete their first windows
  /** Starts polling and lets the discovery sweeps of the first cycles run. */
  const discover = async () => {
    aggregator.start();
    await rig.run(150);
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(150);
    }
  };
  return { rig, timers, aggregator, readings, presence, links, identified, rejections, unsolicited, discover };
}
