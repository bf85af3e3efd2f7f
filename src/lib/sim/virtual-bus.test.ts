import { describe, expect, it } from 'vitest';
import { compareArbitration, frameDurationNs, frameOnWireBits } from '../can/bit-timing';
import { dataFrame, formatFrame, remoteFrame, type CanFrame } from '../can/frame';
import { EventScheduler } from './scheduler';
import { VirtualCanBus, type BusNode } from './virtual-bus';
import { seededRandom } from './random';

interface Received {
  readonly frame: CanFrame;
  readonly endNs: number;
}

/** Attaches a node that records what it receives and what it transmitted. */
function recordingNode(bus: VirtualCanBus, name: string) {
  const node = bus.attach(name);
  const received: Received[] = [];
  const transmitted: Received[] = [];
  node.onReceive = (frame, endNs) => received.push({ frame, endNs });
  node.onTransmitted = (frame, endNs) => transmitted.push({ frame, endNs });
  return { node, received, transmitted };
}

/** Wire time up to the end of EOF, i.e. without the 3-bit intermission. */
function untilEofNs(frame: CanFrame, bitrate: number): number {
  return ((frameOnWireBits(frame).total - 3) * 1e9) / bitrate;
}

const payload8 = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];

describe('VirtualCanBus', () => {
  it.each([125_000, 1_000_000])('delivers one frame after exactly its on-wire duration at %i bit/s', (bitrate) => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const a = recordingNode(bus, 'a');
    const b = recordingNode(bus, 'b');
    const frame = dataFrame(0x123, payload8);
    scheduler.advanceTo(1_000);
    a.node.send(frame);
    expect(a.node.queued).toBe(1);
    expect(b.received).toEqual([]); // nothing is delivered synchronously
    scheduler.advanceTo(10_000_000);

    const { total } = frameOnWireBits(frame);
    const bitNs = 1e9 / bitrate;
    expect(b.received).toHaveLength(1);
    expect(b.received[0]?.endNs).toBe(1_000 + (total - 3) * bitNs);
    expect(formatFrame(b.received[0]?.frame as CanFrame)).toBe('123#123456789ABCDEF0');
    expect(a.received).toEqual([]); // not echoed back to the sender
    expect(a.transmitted).toEqual([{ frame, endNs: 1_000 + (total - 3) * bitNs }]);
    expect(frameDurationNs(frame, bitrate)).toBe(total * bitNs);
    expect(a.node.queued).toBe(0);
    expect(bus.stats().busyNs).toBe(total * bitNs);
  });

  it('sends a reply to a remote frame right after the intermission', () => {
    const bitrate = 500_000;
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const master = recordingNode(bus, 'master');
    const meter = bus.attach('meter');
    const request = remoteFrame(0x181, 8);
    const reply = dataFrame(0x181, payload8);
    meter.onReceive = (frame) => {
      if (frame.remote && frame.id === 0x181) meter.send(reply);
    };
    master.node.send(request);
    scheduler.advanceTo(1e9);

    const requestNs = frameDurationNs(request, bitrate);
    expect(master.transmitted.map((r) => r.endNs)).toEqual([untilEofNs(request, bitrate)]);
    expect(master.received).toHaveLength(1);
    expect(master.received[0]?.frame).toEqual(reply);
    expect(master.received[0]?.endNs).toBe(requestNs + untilEofNs(reply, bitrate));
    expect(bus.stats().busyNs).toBe(requestNs + frameDurationNs(reply, bitrate));
  });

  it('two nodes sending at the same instant: the lower identifier first, the other right after the intermission', () => {
    const bitrate = 250_000;
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const a = recordingNode(bus, 'a');
    const b = recordingNode(bus, 'b');
    const c = recordingNode(bus, 'c');
    const high = dataFrame(0x200, [1, 2, 3]);
    const low = dataFrame(0x100, [4]);
    scheduler.at(5_000, () => a.node.send(high));
    scheduler.at(5_000, () => b.node.send(low));
    scheduler.advanceTo(1e9);

    expect(c.received.map((r) => r.frame.id)).toEqual([0x100, 0x200]);
    expect(b.transmitted[0]?.endNs).toBe(5_000 + untilEofNs(low, bitrate));
    expect(a.transmitted[0]?.endNs).toBe(5_000 + frameDurationNs(low, bitrate) + untilEofNs(high, bitrate));
    expect(bus.stats().arbitrationsLost).toBe(1);
  });

  it('a data frame beats a remote frame with the same identifier; a standard beats an extended one', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = bus.attach('a');
    const b = bus.attach('b');
    const c = bus.attach('c');
    const listener = recordingNode(bus, 'listener');
    a.send(remoteFrame(0x100, 2));
    b.send(dataFrame(0x100 << 18, [1], true));
    c.send(dataFrame(0x100, [7, 7]));
    scheduler.advanceTo(1e9);
    expect(listener.received.map((r) => formatFrame(r.frame))).toEqual(['100#0707', '100#R2', '04000000#01']);
    expect(bus.stats().arbitrationsLost).toBe(2 + 1);
  });

  it('picks the highest-priority frame of each node, first in first out among equal identifiers', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 1_000_000 });
    const sender = bus.attach('sender');
    const listener = recordingNode(bus, 'listener');
    sender.send(dataFrame(0x300, [1]));
    sender.send(dataFrame(0x100, [2]));
    sender.send(dataFrame(0x300, [3]));
    sender.send(dataFrame(0x200, [4]));
    sender.send(dataFrame(0x300, [5]));
    expect(sender.queued).toBe(5);
    scheduler.advanceTo(1e9);
    expect(listener.received.map((r) => formatFrame(r.frame))).toEqual([
      '100#02',
      '200#04',
      '300#01',
      '300#03',
      '300#05',
    ]);
    expect(bus.stats().arbitrationsLost).toBe(0);
  });

  it('a FIFO node (bxCAN TXFP) sends in queue order; its head frame still arbitrates against others', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 1_000_000 });
    const meter = bus.attach('meter', { order: 'fifo' });
    const other = bus.attach('other');
    const listener = recordingNode(bus, 'listener');
    meter.send(dataFrame(0x384, [1])); // an AGGREGATE frame
    meter.send(dataFrame(0x184, [2])); // the ACK that follows it
    other.send(dataFrame(0x200, [3]));
    scheduler.advanceTo(1e9);
    expect(listener.received.map((r) => formatFrame(r.frame))).toEqual(['200#03', '384#01', '184#02']);
  });

  it('frames queued while the bus is busy wait for the end of the intermission, then arbitrate', () => {
    const bitrate = 125_000;
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const a = recordingNode(bus, 'a');
    const b = recordingNode(bus, 'b');
    const c = recordingNode(bus, 'c');
    const long = dataFrame(0x7ff, payload8);
    a.node.send(long);
    const longNs = frameDurationNs(long, bitrate);
    scheduler.advanceTo(100_000); // mid-frame
    expect(bus.busy).toBe(true);
    b.node.send(dataFrame(0x001, [1]));
    scheduler.advanceTo(longNs - 1); // in the intermission
    c.node.send(dataFrame(0x000, [2]));
    scheduler.advanceTo(1e9);

    expect(a.received.map((r) => r.frame.id)).toEqual([0x000, 0x001]);
    const first = dataFrame(0x000, [2]);
    expect(c.transmitted[0]?.endNs).toBe(longNs + untilEofNs(first, bitrate));
    expect(b.transmitted[0]?.endNs).toBe(
      longNs + frameDurationNs(first, bitrate) + untilEofNs(dataFrame(0x001, [1]), bitrate),
    );
    expect(bus.busy).toBe(false);
  });

  it('bus load is busy time over elapsed time, including a frame still on the wire', () => {
    const bitrate = 125_000;
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    const meter = bus.attach('meter');
    bus.attach('master');
    const frame = dataFrame(0x181, payload8);
    const frameNs = frameDurationNs(frame, bitrate);
    scheduler.every(10_000_000, () => meter.send(frame), 0); // every 10 ms
    scheduler.advanceTo(1e9 - 1); // 100 frames started; the last ends at 990 ms + frameNs
    const stats = bus.stats();
    expect(stats.framesDelivered).toBe(100);
    expect(stats.busyNs).toBe(100 * frameNs);
    expect(stats.elapsedNs).toBe(1e9 - 1);
    expect(stats.load).toBe((100 * frameNs) / (1e9 - 1));
    expect(stats.bitsOnWire).toBe(100 * frameOnWireBits(frame).total);
    expect(stats.stuffBits).toBe(100 * frameOnWireBits(frame).stuffBits);

    scheduler.advanceTo(1e9 + 300_000); // 300 µs into frame 101
    expect(bus.stats().busyNs).toBe(100 * frameNs + 300_000);
    bus.resetStats();
    expect(bus.stats()).toMatchObject({ busyNs: 0, elapsedNs: 0, load: 0, framesDelivered: 0, sinceNs: 1e9 + 300_000 });
    scheduler.advanceTo(1e9 + frameNs);
    expect(bus.stats().busyNs).toBe(frameNs - 300_000);
    expect(bus.stats().load).toBe(1);
    expect(bus.stats().framesDelivered).toBe(1);
  });

  it('drops a detached node’s queue, stops delivering to it, and finishes its frame already on the wire', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = recordingNode(bus, 'a');
    const b = recordingNode(bus, 'b');
    a.node.send(dataFrame(0x100, [1]));
    a.node.send(dataFrame(0x101, [2]));
    a.node.send(dataFrame(0x102, [3]));
    scheduler.advanceTo(10_000); // first frame on the wire
    a.node.detach();
    a.node.detach();
    expect(a.node.queued).toBe(0);
    expect(() => a.node.send(dataFrame(0x103, []))).toThrow(/detached/);
    b.node.send(dataFrame(0x200, [9]));
    scheduler.advanceTo(1e9);
    expect(b.received.map((r) => r.frame.id)).toEqual([0x100]);
    expect(a.transmitted).toEqual([]);
    expect(a.received).toEqual([]);
    expect(bus.stats().framesDropped).toBe(2);
    expect(bus.stats().framesDelivered).toBe(2);
  });

  it('does not deliver a frame to a node that attached after its start of frame', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = bus.attach('a');
    a.send(dataFrame(0x100, [1]));
    scheduler.advanceTo(10_000);
    const late = recordingNode(bus, 'late');
    a.send(dataFrame(0x101, [2]));
    scheduler.advanceTo(1e9);
    expect(late.received.map((r) => r.frame.id)).toEqual([0x101]);
  });

  it('puts a snapshot on the wire and gives each receiver its own copy', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = recordingNode(bus, 'a');
    const b = recordingNode(bus, 'b');
    const c = recordingNode(bus, 'c');
    const data = new Uint8Array([1, 2, 3]);
    const frame = dataFrame(0x100, data);
    a.node.send(frame);
    (frame.data as Uint8Array)[0] = 0xff; // the sender reuses its buffer
    b.node.onReceive = (received) => {
      received.data[1] = 0xee; // a careless receiver
    };
    scheduler.advanceTo(1e9);
    expect(formatFrame(c.received[0]?.frame as CanFrame)).toBe('100#010203');
    expect(a.transmitted[0]?.frame).toBe(frame);
  });

  it('rejects invalid frames synchronously', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = bus.attach('a');
    expect(() => a.send({ id: 0x800, extended: false, remote: false, dlc: 0, data: new Uint8Array() })).toThrow(
      /identifier/,
    );
    expect(a.queued).toBe(0);
  });

  it('a throwing listener neither starves other receivers nor wedges the bus', () => {
    const errors: unknown[] = [];
    const scheduler = new EventScheduler({ onError: (error) => errors.push(error) });
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = bus.attach('a');
    const faulty = bus.attach('faulty');
    const c = recordingNode(bus, 'c');
    faulty.onReceive = () => {
      throw new Error('listener bug');
    };
    a.send(dataFrame(0x100, [1]));
    a.send(dataFrame(0x101, [2]));
    scheduler.advanceTo(1e9);
    expect(c.received.map((r) => r.frame.id)).toEqual([0x100, 0x101]);
    expect(errors).toHaveLength(2);
  });

  it('changes bitrate only while idle', () => {
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate: 125_000 });
    const a = recordingNode(bus, 'a');
    recordingNode(bus, 'b');
    bus.bitrate = 500_000;
    expect(bus.bitrate).toBe(500_000);
    const frame = dataFrame(0x100, [1]);
    a.node.send(frame);
    scheduler.advanceTo(1_000);
    expect(() => {
      bus.bitrate = 1_000_000;
    }).toThrow(/bitrate/);
    scheduler.advanceTo(1e9);
    expect(a.transmitted[0]?.endNs).toBe(untilEofNs(frame, 500_000));
    expect(() => {
      bus.bitrate = 0;
    }).toThrow(RangeError);
  });

  it('stress: 1000 random frames from 5 nodes, each delivered once, in arbitration order, never overlapping', () => {
    const bitrate = 500_000;
    const random = seededRandom(11);
    const scheduler = new EventScheduler();
    const bus = new VirtualCanBus(scheduler, { bitrate });
    interface Sent {
      readonly frame: CanFrame;
      readonly nodeIndex: number;
      readonly sequence: number;
      readonly enqueuedNs: number;
    }
    interface Transmission {
      readonly sent: Sent;
      readonly startNs: number;
      readonly endNs: number;
    }
    const sentByFrame = new Map<CanFrame, Sent>();
    const transmissions: Transmission[] = [];
    const receivedBy: CanFrame[][] = [];
    const nodes: BusNode[] = [];
    for (let nodeIndex = 0; nodeIndex < 5; nodeIndex++) {
      const node = bus.attach(`node${nodeIndex}`);
      const received: CanFrame[] = [];
      receivedBy.push(received);
      node.onReceive = (frame) => received.push(frame);
      node.onTransmitted = (frame, eofEndNs) => {
        const sent = sentByFrame.get(frame);
        if (!sent) throw new Error('unknown frame transmitted');
        const { total } = frameOnWireBits(frame);
        const startNs = eofEndNs - ((total - 3) * 1e9) / bitrate;
        transmissions.push({ sent, startNs, endNs: startNs + (total * 1e9) / bitrate });
      };
      nodes.push(node);
    }

    // Enqueue times on a coarse grid over less time than the frames need, so queues build up and
    // many frames arrive at the same instant. Few identifiers, so equal ones are common.
    let sequence = 0;
    for (let i = 0; i < 1000; i++) {
      const nodeIndex = Math.floor(random() * 5);
      const extended = random() < 0.3;
      const base = Math.floor(random() * 24);
      const id = extended ? (base << 18) | Math.floor(random() * 4) : base;
      const dlc = Math.floor(random() * 9);
      const frame =
        random() < 0.2
          ? remoteFrame(id, dlc, extended)
          : dataFrame(id, Array.from({ length: dlc }, () => (random() < 0.5 ? 0 : Math.floor(random() * 256))), extended);
      const enqueuedNs = Math.floor(random() * 400) * 250_000; // 0..100 ms in 250 µs steps
      scheduler.at(enqueuedNs, () => {
        const sent: Sent = { frame, nodeIndex, sequence: sequence++, enqueuedNs };
        sentByFrame.set(frame, sent);
        nodes[nodeIndex]?.send(frame);
      });
    }
    scheduler.advanceTo(10e9);

    // Each frame transmitted exactly once, and received once by each of the four other nodes, in bus order.
    expect(transmissions).toHaveLength(1000);
    expect(new Set(transmissions.map((t) => t.sent.frame)).size).toBe(1000);
    for (let nodeIndex = 0; nodeIndex < 5; nodeIndex++) {
      const expected = transmissions.filter((t) => t.sent.nodeIndex !== nodeIndex).map((t) => formatFrame(t.sent.frame));
      expect(receivedBy[nodeIndex]?.map(formatFrame)).toEqual(expected);
    }

    // Never overlapping, and the bus never idles while a frame is waiting.
    let idleSinceNs = 0;
    let unsent = [...sentByFrame.values()];
    for (const tx of transmissions) {
      expect(tx.startNs).toBeGreaterThanOrEqual(idleSinceNs);
      const earliestWaiting = Math.min(...unsent.map((s) => s.enqueuedNs));
      expect(tx.startNs).toBe(Math.max(idleSinceNs, earliestWaiting));

      // Consistent with arbitration: the winner beats every frame waiting at its start.
      for (const other of unsent) {
        if (other === tx.sent || other.enqueuedNs > tx.startNs) continue;
        const order = compareArbitration(tx.sent.frame, other.frame);
        if (order === 0) {
          // Equal fields: FIFO within a node; across nodes, the earlier-attached node.
          if (other.nodeIndex === tx.sent.nodeIndex) expect(tx.sent.sequence).toBeLessThan(other.sequence);
          else expect(tx.sent.nodeIndex).toBeLessThan(other.nodeIndex);
        } else {
          expect(order).toBeLessThan(0);
        }
      }
      unsent = unsent.filter((s) => s !== tx.sent);
      idleSinceNs = tx.endNs;
    }

    const totalNs = transmissions.reduce((sum, tx) => sum + frameDurationNs(tx.sent.frame, bitrate), 0);
    const stats = bus.stats();
    expect(stats.busyNs).toBe(totalNs);
    expect(stats.framesDelivered).toBe(1000);
    expect(stats.arbitrationsLost).toBeGreaterThan(0);
    expect(nodes.every((node) => node.queued === 0)).toBe(true);
    // The enqueue window (100 ms) is shorter than the traffic, so the bus ran saturated for a while.
    expect(idleSinceNs).toBeGreaterThan(100e6);
  });
});
