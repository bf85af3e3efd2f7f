/**
 * The contract every CanTransport keeps, after meshtastic/web's transport contract: one suite,
 * run against each driver with a harness that puts the driver on a (virtual) bus.
 */
import { describe, expect, it } from 'vitest';
import { type CanFrame, dataFrame, remoteFrame } from '../frame';
import type { CanTransport, TransportEvent } from '../transport';

export interface TransportHarness {
  readonly transport: CanTransport;
  /** Another node on the bus transmits `frame`. */
  peerSends(frame: CanFrame): void;
  /** Frames the other node has received, in order. */
  readonly peerReceived: readonly CanFrame[];
  /** Frames the other node has put on the wire, in the order arbitration let them out. */
  readonly peerTransmitted: readonly CanFrame[];
  /** Lets simulated and real time pass until traffic in flight has arrived. */
  settle(): Promise<void>;
  /** The adapter's cable is pulled. */
  unplug(): void;
}

/** Reads a transport's events into an array in the background. */
export function collect(transport: CanTransport): { events: TransportEvent[]; done: Promise<void> } {
  const events: TransportEvent[] = [];
  const done = (async () => {
    for await (const event of transport.fromBus) events.push(event);
  })();
  return { events, done };
}

const framesOf = (events: readonly TransportEvent[]) =>
  events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const statusesOf = (events: readonly TransportEvent[]) =>
  events.flatMap((e) => (e.type === 'status' ? [`${e.status}${e.reason ? `:${e.reason}` : ''}`] : []));

const sample: CanFrame[] = [
  dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]),
  dataFrame(0x000, []),
  remoteFrame(0x601, 4),
  dataFrame(0x7ff, [0x0d, 0x0a, 0x07]), // CR, LF and BELL as data must not confuse any framing
  dataFrame(0x18ff50e5, [0xaa, 0x55], true),
  remoteFrame(0x1abcdef, 8, true),
];

export function runTransportContract(name: string, create: () => Promise<TransportHarness>): void {
  describe(`${name} keeps the transport contract`, () => {
    it('reports connecting, then connected', async () => {
      const h = await create();
      const { events } = collect(h.transport);
      await h.settle();
      expect(statusesOf(events)).toEqual(['connecting', 'connected']);
      await h.transport.close();
    });

    it('delivers frames from the bus intact and in order', async () => {
      const h = await create();
      const { events } = collect(h.transport);
      for (const frame of sample) h.peerSends(frame);
      await h.settle();
      expect(h.peerTransmitted).toHaveLength(sample.length);
      expect(framesOf(events)).toEqual(h.peerTransmitted);
      expect(events.filter((e) => e.type === 'warning')).toEqual([]);
      await h.transport.close();
    });

    it('puts written frames on the bus intact and in the order they were written', async () => {
      const h = await create();
      collect(h.transport);
      const writer = h.transport.toBus.getWriter();
      for (const frame of sample) await writer.write(frame);
      await h.settle();
      expect(h.peerReceived).toEqual(sample);
      writer.releaseLock();
      await h.transport.close();
    });

    it('takes a burst of writes without waiting for each, and puts every frame on the bus in order', async () => {
      const h = await create();
      collect(h.transport);
      const writer = h.transport.toBus.getWriter();
      const burst = Array.from({ length: 40 }, (_, i) => dataFrame(0x100 + i, [i, 0x0d]));
      const writes = burst.map((frame) => writer.write(frame));
      await h.settle();
      await h.settle();
      await Promise.all(writes);
      expect(h.peerReceived).toEqual(burst);
      writer.releaseLock();
      await h.transport.close();
    });

    it('closes on request: disconnected by the user, streams end, later writes fail', async () => {
      const h = await create();
      const { events, done } = collect(h.transport);
      await h.settle();
      await h.transport.close();
      await done;
      expect(statusesOf(events)).toEqual(['connecting', 'connected', 'disconnected:user']);
      await expect(h.transport.toBus.getWriter().write(sample[0] as CanFrame)).rejects.toThrow();
      await h.transport.close(); // idempotent
      h.peerSends(sample[0] as CanFrame);
      await h.settle();
      expect(framesOf(events)).toEqual([]);
    });

    it('reports an unplugged adapter as lost and ends its streams', async () => {
      const h = await create();
      const { events, done } = collect(h.transport);
      await h.settle();
      h.unplug();
      await done;
      expect(statusesOf(events).at(-1)).toBe('disconnected:device-lost');
      await expect(h.transport.toBus.getWriter().write(sample[0] as CanFrame)).rejects.toThrow();
      await h.transport.close();
    });
  });
}
