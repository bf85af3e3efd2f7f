import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dataFrame, remoteFrame, type CanFrame } from '../can/frame';
import { frameCount, MAX_BODY_LENGTH, Reassembler, type ReassemblyEvent, segment } from './segmentation';

const ID = 0x205;

function clock(start = 0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (value) => (t = value) };
}

function pushAll(reassembler: Reassembler, frames: readonly CanFrame[]): ReassemblyEvent[] {
  return frames.flatMap((frame) => reassembler.push(frame));
}

function bytes(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 37 + seed) & 0xff);
}

describe('segment', () => {
  it('writes index << 4 | last and 7 body bytes a frame', () => {
    const frames = segment(ID, bytes(13));
    expect(frames.map((f) => f.dlc)).toEqual([8, 7]);
    expect(frames.map((f) => f.data[0])).toEqual([0x01, 0x11]);
    expect(frames.every((f) => f.id === ID && !f.remote && !f.extended)).toBe(true);
  });

  it('sizes messages as the spec does: ACK 4, SNAPSHOT 6, ENERGY 5, STATUS 7, AGGREGATE 7, EVENT 4 frames', () => {
    expect([11, 30, 21, 34, 37, 15].map((payload) => frameCount(payload + 12))).toEqual([4, 6, 5, 7, 7, 4]);
    // A SNAPSHOT fills six frames of 8 bytes exactly (spec §6).
    expect(segment(ID, bytes(42)).map((f) => f.dlc)).toEqual([8, 8, 8, 8, 8, 8]);
  });

  it('satisfies body length = 7 × last + DLC(last frame) − 1', () => {
    for (let length = 1; length <= MAX_BODY_LENGTH; length++) {
      const frames = segment(ID, bytes(length));
      const last = frames.length - 1;
      expect(7 * last + (frames[last]?.dlc ?? 0) - 1).toBe(length);
      expect(frames.slice(0, -1).every((f) => f.dlc === 8)).toBe(true);
      expect(frames[last]?.dlc).toBeGreaterThanOrEqual(2);
    }
  });

  it('refuses an empty body, one over 16 frames, and a bad identifier', () => {
    expect(() => segment(ID, new Uint8Array(0))).toThrow(RangeError);
    expect(() => segment(ID, new Uint8Array(113))).toThrow(RangeError);
    expect(() => segment(0x800, new Uint8Array(1))).toThrow(RangeError);
    expect(segment(ID, new Uint8Array(112))).toHaveLength(16);
  });
});

describe('Reassembler', () => {
  it('rebuilds a single-frame and a 16-frame body', () => {
    const r = new Reassembler({ now: () => 5 });
    expect(pushAll(r, segment(ID, bytes(1)))).toEqual([{ kind: 'message', id: ID, body: bytes(1), at: 5 }]);
    expect(pushAll(r, segment(ID, bytes(112)))).toEqual([{ kind: 'message', id: ID, body: bytes(112), at: 5 }]);
    expect(r.pending).toBe(0);
  });

  it('keeps one message per identifier, so interleaved messages both complete', () => {
    const r = new Reassembler({ now: () => 0 });
    const a = segment(0x205, bytes(30, 1));
    const b = segment(0x206, bytes(30, 2));
    const events = a.flatMap((frame, i) => [...r.push(frame), ...r.push(b[i] ?? frame)]);
    expect(events.filter((e) => e.kind === 'message').map((e) => e.id)).toEqual([0x205, 0x206]);
  });

  it('ignores remote frames and extended identifiers', () => {
    const r = new Reassembler({ now: () => 0 });
    expect(r.push(remoteFrame(ID, 8))).toEqual([]);
    expect(r.push(dataFrame(ID, [0x00, 1], true))).toEqual([]);
  });

  it('drops a partial message when a new one starts', () => {
    const r = new Reassembler({ now: () => 0 });
    const first = segment(ID, bytes(30));
    r.push(first[0] as CanFrame);
    const events = pushAll(r, segment(ID, bytes(20)));
    expect(events[0]).toMatchObject({ kind: 'dropped', reason: 'restarted' });
    expect(events[1]).toMatchObject({ kind: 'message', body: bytes(20) });
  });

  it('drops a partial message older than 100 ms, and keeps one exactly 100 ms old', () => {
    const c = clock(1000);
    const r = new Reassembler({ now: c.now });
    const frames = segment(ID, bytes(30));
    r.push(frames[0] as CanFrame);
    c.set(1100);
    expect(pushAll(r, frames.slice(1))).toMatchObject([{ kind: 'message' }]);

    r.push(frames[0] as CanFrame);
    c.set(1201);
    expect(r.push(frames[1] as CanFrame)).toMatchObject([
      { kind: 'dropped', reason: 'timeout' },
      { kind: 'malformed', reason: 'no-start' },
    ]);
  });

  it('expires stale partial messages when asked', () => {
    const c = clock(0);
    const r = new Reassembler({ now: c.now });
    r.push(segment(0x201, bytes(20))[0] as CanFrame);
    c.set(50);
    r.push(segment(0x202, bytes(20))[0] as CanFrame);
    c.set(120);
    expect(r.expire()).toMatchObject([{ kind: 'dropped', id: 0x201, reason: 'timeout' }]);
    expect(r.pending).toBe(1);
  });

  it('counts every kind of malformed frame', () => {
    const r = new Reassembler({ now: () => 0 });
    const frames = segment(ID, bytes(30));
    const [f0, f1, f2] = frames as [CanFrame, CanFrame, CanFrame];
    expect(r.push(dataFrame(ID, [0x00]))).toMatchObject([{ kind: 'malformed', reason: 'bad-length' }]);
    expect(r.push(dataFrame(ID, []))).toMatchObject([{ kind: 'malformed', reason: 'bad-length' }]);
    expect(r.push(dataFrame(ID, [0x21, 1, 2]))).toMatchObject([{ kind: 'malformed', reason: 'bad-header' }]);
    expect(r.push(f1)).toMatchObject([{ kind: 'malformed', reason: 'no-start' }]);
    r.push(f0);
    expect(r.push(f2)).toMatchObject([{ kind: 'malformed', reason: 'out-of-sequence' }]);
    expect(r.pending).toBe(0);
    r.push(f0);
    const changedLast = dataFrame(ID, [0x13, ...f1.data.subarray(1)]);
    expect(r.push(changedLast)).toMatchObject([{ kind: 'malformed', reason: 'out-of-sequence' }]);
    r.push(f0);
    expect(r.push(dataFrame(ID, f1.data.subarray(0, 7)))).toMatchObject([{ kind: 'malformed', reason: 'bad-length' }]);
    expect(r.pending).toBe(0);
  });

  it('segment then reassemble is the identity for every body length 12..112', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7ff }), fc.uint8Array({ minLength: 12, maxLength: 112 }), (id, body) => {
        const r = new Reassembler({ now: () => 0 });
        expect(pushAll(r, segment(id, body))).toEqual([{ kind: 'message', id, body, at: 0 }]);
      }),
    );
  });

  it('never throws on arbitrary frames; every outcome is a message or carries a reason', () => {
    const frame = fc.record({
      id: fc.integer({ min: 0x200, max: 0x203 }),
      extended: fc.boolean(),
      remote: fc.boolean(),
      data: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...segment(0x201, bytes(40)).map((f) => f.data))),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(frame, fc.integer({ min: 0, max: 300 })), { maxLength: 60 }), (inputs) => {
        let t = 0;
        const r = new Reassembler({ now: () => t });
        for (const [f, dt] of inputs) {
          t += dt;
          const input: CanFrame = f.remote
            ? { id: f.id, extended: f.extended, remote: true, dlc: f.data.length, data: new Uint8Array(0) }
            : { id: f.id, extended: f.extended, remote: false, dlc: f.data.length, data: f.data };
          const events = r.push(input);
          for (const event of events) {
            expect(['message', 'malformed', 'dropped']).toContain(event.kind);
            if (event.kind === 'message') expect(event.body.length).toBeGreaterThan(0);
            else expect(event.detail.length).toBeGreaterThan(0);
          }
          expect(r.pending).toBeLessThanOrEqual(4);
        }
      }),
    );
  });
});
