/**
 * A virtual bus with one other node on it, for driver tests: what that node sends and receives,
 * and ways to let virtual time pass while the driver under test runs on real promises and timers.
 */
import type { CanFrame } from '../../can/frame';
import { type Cancel, EventScheduler } from '../scheduler';
import { type BusNode, VirtualCanBus } from '../virtual-bus';

export interface BusRig {
  readonly scheduler: EventScheduler;
  readonly bus: VirtualCanBus;
  readonly peer: BusNode;
  readonly peerReceived: CanFrame[];
  readonly peerTransmitted: CanFrame[];
  /** Virtual ms, for the driver's clock. */
  readonly nowMs: () => number;
  /** setTimeout/clearTimeout in virtual time, for the driver's timers. */
  readonly timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Lets both clocks move until traffic in flight has arrived (40 ms of virtual time). */
  settle(): Promise<void>;
  /** Advances virtual time by `ms` in steps (default 1 ms), yielding to the streams between steps. */
  run(ms: number, stepMs?: number): Promise<void>;
  /** Awaits `promise` while virtual time moves on by 1 ms per macrotask (a driver waiting for a reply). */
  during<T>(promise: Promise<T>): Promise<T>;
  /** Waits (advancing virtual time as above) until `test` holds, or fails after `limitMs` of virtual time. */
  until(test: () => boolean, limitMs?: number): Promise<void>;
}

export const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function busRig(bitrate = 125_000): BusRig {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate });
  const peer = bus.attach('peer');
  const peerReceived: CanFrame[] = [];
  const peerTransmitted: CanFrame[] = [];
  peer.onReceive = (frame) => peerReceived.push(frame);
  peer.onTransmitted = (frame) => peerTransmitted.push(frame);
  const run = async (ms: number, stepMs = 1) => {
    const end = scheduler.now + ms * 1e6;
    while (scheduler.now < end) {
      scheduler.advanceTo(Math.min(end, scheduler.now + stepMs * 1e6));
      await macrotask();
    }
  };
  const settle = async () => {
    for (let i = 0; i < 8; i++) {
      await macrotask();
      scheduler.advanceBy(5e6);
    }
    await macrotask();
  };
  const during = async <T>(promise: Promise<T>): Promise<T> => {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    while (!settled) {
      scheduler.advanceBy(5e6);
      await macrotask();
    }
    return tracked;
  };
  const until = async (test: () => boolean, limitMs = 5000) => {
    for (let ms = 0; !test(); ms++) {
      if (ms > limitMs) throw new Error(`condition not met within ${limitMs} ms of virtual time`);
      scheduler.advanceBy(1e6);
      await macrotask();
    }
  };
  const timers = {
    setTimeout: (fn: () => void, ms: number): unknown => scheduler.after(Math.max(0, ms) * 1e6, () => fn()),
    clearTimeout: (handle: unknown) => (handle as Cancel)(),
  };
  return { scheduler, bus, peer, peerReceived, peerTransmitted, nowMs: () => scheduler.now / 1e6, timers, settle, run, during, until };
}
