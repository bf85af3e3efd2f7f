import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CanFrame } from '../can/frame';
import { memoryCounterStore, memoryLastFvStore, ReceiverFreshness, SenderCounter } from './freshness';
import { canId, FunctionCode } from './ids';
import { DEMO_SITE_KEY, deriveGroupKey, deriveMeterKey, fromHex, generateSiteKey, toHex } from './keys';
import { broadcastTime, ClearEnergyFlow, type ClearEnergyStep, type LinkEvent, LinkError, MeterLink, requestFrame } from './link';
import {
  type AckFields,
  AckResult,
  ControlOpcode,
  decodeCommand,
  encodeAck,
  encodeEnergy,
  encodeSnapshot,
  encodeStatus,
  type StatusFields,
} from './records';
import { open, sealFrames } from './secure';
import { Reassembler } from './segmentation';

const NODE = 5;
const UID = fromHex('3a0021000b51343334363530');
const OTHER_UID = fromHex('3a0021000b51343334363531');

function statusFields(uid: Uint8Array): StatusFields {
  return { protocol: 1, firmware: 0x0100, build: 1, uid, flags: 0, uptimeS: 10, boots: 1, rejectedMac: 0, rejectedStale: 0, rejectedMalformed: 0, rateLimited: 0, tec: 0, rec: 0 };
}
const SNAPSHOT = encodeSnapshot({ timeS: 1, timeCs: 0, flags: 3, vrms: 23000, irms: 1000, p: -5000, n: 0, pf: -10000, f: 50000, thdV: 100, thdI: 0xffff });

/** The meter's side, as far as these tests need it: its own key and counter. */
class TestMeter {
  readonly key: Uint8Array;
  fv = 0;
  lastCommandFv = 0;
  constructor(
    readonly uid: Uint8Array,
    siteKey: Uint8Array = DEMO_SITE_KEY,
    readonly node = NODE,
  ) {
    this.key = deriveMeterKey(siteKey, uid);
  }
  send(fn: number, payload: Uint8Array, fv = ++this.fv): CanFrame[] {
    return sealFrames(this.key, canId(fn, this.node), payload, fv);
  }
  status(): CanFrame[] {
    return this.send(FunctionCode.STATUS, encodeStatus(statusFields(this.uid)));
  }
  ack(fields: AckFields): CanFrame[] {
    return this.send(FunctionCode.ACK, encodeAck(fields));
  }
  /** Opens a command the way the firmware must. */
  receive(frames: readonly CanFrame[]): { fn: number; payload: Uint8Array; fv: number } {
    const r = new Reassembler({ now: () => 0 });
    const [event] = frames.flatMap((f) => r.push(f));
    if (event?.kind !== 'message') throw new Error('no message');
    const opened = open(this.key, event.id, event.body, this.lastCommandFv);
    if (!opened.ok) throw new Error(opened.reason);
    this.lastCommandFv = opened.fv;
    return { fn: event.id >> 7, payload: opened.payload, fv: opened.fv };
  }
}

async function setup(options: { uid?: Uint8Array; counterStart?: number } = {}) {
  const counter = await SenderCounter.open(memoryCounterStore(options.counterStart));
  const fvStore = memoryLastFvStore();
  const freshness = await ReceiverFreshness.open(fvStore);
  const link = new MeterLink({ siteKey: DEMO_SITE_KEY, node: NODE, counter, freshness, uid: options.uid });
  const meter = new TestMeter(UID);
  let at = 1000;
  const feed = (frames: readonly CanFrame[]): LinkEvent[] => frames.flatMap((frame) => link.receiveFrame(frame, (at += 1)));
  return { link, meter, counter, freshness, fvStore, feed };
}

describe('MeterLink: receiving', () => {
  it('rejects records before a STATUS taught it the uid', async () => {
    const { link, meter, feed } = await setup();
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'rejected', reason: 'unknown-uid' }]);
    expect(link.rejected['unknown-uid']).toBe(1);
  });

  it('learns the uid from a STATUS that verifies under the key of the uid it claims', async () => {
    const { link, meter, feed, freshness } = await setup();
    const events = feed(meter.status());
    expect(events).toMatchObject([
      { kind: 'uid-learned', uid: UID },
      { kind: 'record', fv: 1, record: { function: FunctionCode.STATUS, status: { uidHex: toHex(UID) } } },
    ]);
    expect(link.uid).toEqual(UID);
    expect(freshness.lastAccepted(toHex(UID))).toBe(1);
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([
      { kind: 'record', fv: 2, record: { function: FunctionCode.SNAPSHOT, snapshot: { watts: -5, thdCurrentPercent: undefined } } },
    ]);
  });

  it('does not trust a STATUS from a meter of another site', async () => {
    const { link, feed } = await setup();
    const stranger = new TestMeter(UID, generateSiteKey());
    expect(feed(stranger.status())).toMatchObject([{ kind: 'rejected', reason: 'bad-mac' }]);
    expect(link.uid).toBeUndefined();
  });

  it('rejects a replayed STATUS as stale, and keeps counting by reason', async () => {
    const { link, meter, feed } = await setup();
    const status = meter.status();
    feed(status);
    expect(feed(status)).toMatchObject([{ kind: 'rejected', reason: 'stale' }]);
    const snapshot = meter.send(FunctionCode.SNAPSHOT, SNAPSHOT);
    feed(snapshot);
    expect(feed(snapshot)).toMatchObject([{ kind: 'rejected', reason: 'stale' }]);
    const forged = meter.send(FunctionCode.SNAPSHOT, SNAPSHOT);
    const last = forged.at(-1) as CanFrame;
    const data = last.data.slice();
    data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0x80;
    expect(feed([...forged.slice(0, -1), { ...last, data }])).toMatchObject([{ kind: 'rejected', reason: 'bad-mac' }]);
    expect(link.rejected).toEqual({ 'bad-mac': 1, stale: 2, malformed: 0, 'unknown-uid': 0 });
  });

  it('remembers the uid given at construction and checks freshness from the store', async () => {
    const { link, meter, feed, freshness } = await setup({ uid: UID });
    freshness.accept(toHex(UID), 10);
    meter.fv = 9;
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'rejected', reason: 'stale' }]);
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'record', fv: 11 }]);
    expect(link.uid).toEqual(UID);
  });

  it('keeps the pinned uid when another meter of the site claims the node, until told to forget it', async () => {
    const { link, meter, feed, freshness } = await setup();
    feed(meter.status());
    const replacement = new TestMeter(OTHER_UID);
    expect(feed(replacement.status())).toMatchObject([{ kind: 'uid-conflict', known: UID, claimed: OTHER_UID, fv: 1 }]);
    expect(link.uid).toEqual(UID);
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'record' }]);
    expect(feed(replacement.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'rejected', reason: 'bad-mac' }]);

    link.forgetUid();
    expect(feed(replacement.status())).toMatchObject([{ kind: 'uid-learned', uid: OTHER_UID }, { kind: 'record', fv: 3 }]);
    expect(link.uid).toEqual(OTHER_UID);
    expect(freshness.lastAccepted(toHex(OTHER_UID))).toBe(3);
    expect(freshness.lastAccepted(toHex(UID))).toBe(2);
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT))).toMatchObject([{ kind: 'rejected', reason: 'bad-mac' }]);
  });

  it('counts malformed frames, short bodies, wrong lengths (before the MAC) and impossible values (after it)', async () => {
    const { link, meter, feed, freshness } = await setup();
    feed(meter.status());
    const snapshot = meter.send(FunctionCode.SNAPSHOT, SNAPSHOT);
    expect(feed([snapshot[0] as CanFrame, snapshot[2] as CanFrame])).toMatchObject([{ kind: 'rejected', reason: 'malformed' }]);
    expect(link.receiveBody(canId(FunctionCode.SNAPSHOT, NODE), new Uint8Array(11), 0)).toMatchObject([{ kind: 'rejected', reason: 'malformed' }]);
    expect(feed(meter.send(FunctionCode.SNAPSHOT, SNAPSHOT.subarray(1)))).toMatchObject([{ kind: 'rejected', reason: 'malformed' }]);
    expect(feed(meter.send(FunctionCode.STATUS, new Uint8Array(34)))).toMatchObject([{ kind: 'rejected', reason: 'malformed' }]);
    expect(freshness.lastAccepted(toHex(UID))).toBe(1);
    const impossible = SNAPSHOT.slice();
    impossible[4] = 100; // time_cs
    expect(feed(meter.send(FunctionCode.SNAPSHOT, impossible))).toMatchObject([{ kind: 'rejected', reason: 'malformed', detail: expect.stringContaining('time_cs') }]);
    expect(freshness.lastAccepted(toHex(UID))).toBe(5);
    // A wrong length is malformed even under a key that would not verify.
    expect(link.receiveBody(canId(FunctionCode.SNAPSHOT, NODE), new Uint8Array(41), 0)).toMatchObject([{ kind: 'rejected', reason: 'malformed' }]);
    expect(link.rejected).toEqual({ 'bad-mac': 0, stale: 0, malformed: 6, 'unknown-uid': 0 });
  });

  it('drops a partial message after 100 ms, on expire() or on the next frame', async () => {
    const { link, meter, feed } = await setup();
    feed(meter.status());
    const snapshot = meter.send(FunctionCode.SNAPSHOT, SNAPSHOT);
    link.receiveFrame(snapshot[0] as CanFrame, 5000);
    expect(link.expire(5100)).toEqual([]);
    expect(link.expire(5101)).toMatchObject([{ kind: 'rejected', reason: 'malformed', detail: expect.stringContaining('timeout') }]);
  });

  it('ignores frames of other nodes, remote frames, and commands', async () => {
    const { link, meter, feed } = await setup();
    const elsewhere = new TestMeter(UID, DEMO_SITE_KEY, NODE + 1);
    expect(feed(elsewhere.status())).toEqual([]);
    expect(feed([requestFrame(FunctionCode.STATUS, NODE)])).toEqual([]);
    expect(feed(meter.send(FunctionCode.RELAY, new Uint8Array([1])))).toEqual([]);
    expect(link.receiveBody(canId(12, NODE), new Uint8Array(20), 0)).toEqual([]);
    expect(link.rejected).toEqual({ 'bad-mac': 0, stale: 0, malformed: 0, 'unknown-uid': 0 });
  });

  it('never throws on arbitrary frames', async () => {
    const { link, meter, feed } = await setup();
    feed(meter.status());
    const frame = fc.record({ fn: fc.integer({ min: 0, max: 15 }), data: fc.uint8Array({ minLength: 0, maxLength: 8 }), at: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 40 }), (frames) => {
        for (const { fn, data, at } of frames) {
          const events = link.receiveFrame({ id: canId(fn, NODE), extended: false, remote: false, dlc: data.length, data }, at);
          for (const event of events) expect(['rejected', 'record', 'ack', 'unmatched-ack', 'uid-learned', 'uid-conflict']).toContain(event.kind);
        }
      }),
    );
  });
});

describe('MeterLink: commands', () => {
  it('refuses to command a meter whose uid it does not know', async () => {
    const { link } = await setup();
    await expect(link.relay(true, 0)).rejects.toBeInstanceOf(LinkError);
  });

  it('seals every command with the meter key and the next aggregator FV', async () => {
    const { link, meter, feed } = await setup();
    feed(meter.status());
    const sent = [
      await link.relay(true, 0),
      await link.setTime(1_767_225_600_000, 0),
      await link.setThresholds({ dip: 9000, swell: 11000, hysteresis: 200, udin: 23000 }, 0),
      await link.identify(10, 0),
      await link.clearEnergyArm(0),
      await link.clearEnergyConfirm(0x1234, 5, 6, 0),
      await link.readAggregates(1_767_225_600, 16, 0),
      await link.readEvents(3, 4, 0),
    ];
    expect(sent.map((s) => s.fv)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of sent) {
      const received = meter.receive(s.frames);
      expect(received.fv).toBe(s.fv);
      expect(s.id).toBe(canId(s.command.function, NODE));
      expect(decodeCommand(s.command.function, received.payload)).toEqual({ ok: true, value: s.command });
    }
    expect(sent[5]?.command).toMatchObject({ opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, uid: UID, importMwh: 5, exportMwh: 6 });
    expect(link.pending).toHaveLength(8);
  });

  it('refuses arguments a meter would refuse, without spending an FV', async () => {
    const { link, meter, feed, counter } = await setup();
    feed(meter.status());
    await expect(link.setThresholds({ dip: 11000, swell: 9000, hysteresis: 200, udin: 23000 }, 0)).rejects.toThrow(RangeError);
    await expect(link.readEvents(0, 17, 0)).rejects.toThrow(RangeError);
    await expect(link.identify(300, 0)).rejects.toThrow(RangeError);
    expect(counter.upcoming).toBe(1);
  });

  it('matches ACKs by command_fv, function and opcode', async () => {
    const { link, meter, feed } = await setup();
    feed(meter.status());
    const relay = await link.relay(false, 0);
    const arm = await link.clearEnergyArm(0);
    expect(feed(meter.ack({ function: FunctionCode.CONTROL, opcode: ControlOpcode.CLEAR_ENERGY_ARM, commandFv: arm.fv, result: 0, value: 77 }))).toMatchObject([
      { kind: 'ack', command: arm, ack: { value: 77, resultName: 'ok' } },
    ]);
    expect(feed(meter.ack({ function: FunctionCode.CONTROL, opcode: 0, commandFv: relay.fv, result: 0, value: 0 }))).toMatchObject([{ kind: 'unmatched-ack' }]);
    expect(feed(meter.ack({ function: FunctionCode.RELAY, opcode: 0, commandFv: relay.fv, result: 0, value: 0 }))).toMatchObject([
      { kind: 'ack', command: relay },
    ]);
    expect(feed(meter.ack({ function: FunctionCode.RELAY, opcode: 0, commandFv: relay.fv, result: 0, value: 0 }))).toMatchObject([{ kind: 'unmatched-ack' }]);
    expect(link.pending).toEqual([]);
  });

  it('reports commands unanswered past the timeout', async () => {
    const { link, meter, feed } = await setup();
    feed(meter.status());
    const sent = await link.relay(true, 10_000);
    expect(link.expire(11_000)).toEqual([]);
    expect(link.expire(11_001)).toMatchObject([{ kind: 'ack-timeout', command: sent }]);
    expect(link.pending).toEqual([]);
  });

  it('builds remote-frame requests with DLC 8', () => {
    expect(requestFrame(FunctionCode.SNAPSHOT, 3)).toMatchObject({ id: 0x203, remote: true, dlc: 8 });
    expect(() => requestFrame(FunctionCode.SNAPSHOT, 0)).toThrow(RangeError);
  });

  it('broadcasts TIME on node 0 with the group key', async () => {
    const counter = await SenderCounter.open(memoryCounterStore());
    const sent = await broadcastTime(DEMO_SITE_KEY, counter, 1_767_225_600_000);
    expect(sent.id).toBe(0x080);
    const r = new Reassembler({ now: () => 0 });
    const [event] = sent.frames.flatMap((f) => r.push(f));
    expect(event?.kind).toBe('message');
    if (event?.kind !== 'message') return;
    expect(open(deriveGroupKey(DEMO_SITE_KEY), 0x080, event.body, 0)).toMatchObject({ ok: true, fv: 1 });
    expect(open(deriveMeterKey(DEMO_SITE_KEY, UID), 0x080, event.body, 0)).toMatchObject({ ok: false, reason: 'bad-mac' });
  });
});

describe('ClearEnergyFlow', () => {
  async function armed() {
    const context = await setup();
    context.feed(context.meter.status());
    const flow = new ClearEnergyFlow(context.link, { maxAttempts: 2 });
    const step = await flow.start(0);
    const handleAll = async (frames: readonly CanFrame[]): Promise<ClearEnergyStep[]> => {
      const steps: ClearEnergyStep[] = [];
      for (const event of context.feed(frames)) steps.push(await flow.handle(event, 0));
      return steps;
    };
    return { ...context, flow, step, handleAll };
  }
  const frames = (step: ClearEnergyStep | undefined): readonly CanFrame[] => (step?.kind === 'send' ? step.frames : []);

  it('arms, reads ENERGY, confirms with challenge, uid and registers, and reports the clear', async () => {
    const { meter, flow, step, handleAll } = await armed();
    const arm = meter.receive(frames(step));
    expect(decodeCommand(FunctionCode.CONTROL, arm.payload)).toMatchObject({ ok: true, value: { opcode: ControlOpcode.CLEAR_ENERGY_ARM } });
    const [afterArm] = await handleAll(meter.ack({ function: 2, opcode: 3, commandFv: arm.fv, result: 0, value: 0xc0ffee }));
    expect(flow.state).toBe('reading');
    expect(frames(afterArm)).toEqual([requestFrame(FunctionCode.ENERGY, NODE)]);
    const [afterEnergy] = await handleAll(meter.send(FunctionCode.ENERGY, encodeEnergy({ timeS: 1, flags: 2, importMwh: 123_456, exportMwh: 789, epoch: 0, boots: 1 })));
    const confirm = meter.receive(frames(afterEnergy));
    expect(decodeCommand(FunctionCode.CONTROL, confirm.payload)).toMatchObject({
      ok: true,
      value: { opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge: 0xc0ffee, uid: UID, importMwh: 123_456, exportMwh: 789 },
    });
    const [done] = await handleAll(meter.ack({ function: 2, opcode: 4, commandFv: confirm.fv, result: 0, value: 0 }));
    expect(done).toEqual({ kind: 'cleared', importMwh: 123_456, exportMwh: 789 });
    expect(flow.state).toBe('cleared');
  });

  it('starts over from ARM on a mismatch, and gives up after its attempts', async () => {
    const { meter, flow, step, handleAll } = await armed();
    let arm = meter.receive(frames(step));
    for (let attempt = 1; attempt <= 2; attempt++) {
      await handleAll(meter.ack({ function: 2, opcode: 3, commandFv: arm.fv, result: 0, value: attempt }));
      const [afterEnergy] = await handleAll(meter.send(FunctionCode.ENERGY, encodeEnergy({ timeS: 1, flags: 2, importMwh: attempt, exportMwh: 0, epoch: 0, boots: 1 })));
      const confirm = meter.receive(frames(afterEnergy));
      const [next] = await handleAll(meter.ack({ function: 2, opcode: 4, commandFv: confirm.fv, result: AckResult.MISMATCH, value: 0 }));
      if (attempt === 1) {
        expect(flow.state).toBe('arming');
        arm = meter.receive(frames(next));
      } else {
        expect(next).toMatchObject({ kind: 'failed', detail: expect.stringContaining('mismatch') });
      }
    }
  });

  it('fails when the ARM is refused or never answered, and asks again for ENERGY while waiting', async () => {
    const refused = await armed();
    const arm = refused.meter.receive(frames(refused.step));
    expect(await refused.handleAll(refused.meter.ack({ function: 2, opcode: 3, commandFv: arm.fv, result: AckResult.BUSY, value: 0 }))).toMatchObject([
      { kind: 'failed' },
    ]);

    const silent = await armed();
    const [timeout] = silent.link.expire(10_000_000);
    expect(await silent.flow.handle(timeout as LinkEvent, 0)).toMatchObject({ kind: 'failed' });

    const slow = await armed();
    const slowArm = slow.meter.receive(frames(slow.step));
    slow.link.receiveFrame(requestFrame(FunctionCode.ENERGY, NODE), 0);
    for (const event of slow.feed(slow.meter.ack({ function: 2, opcode: 3, commandFv: slowArm.fv, result: 0, value: 1 }))) await slow.flow.handle(event, 100);
    expect(await slow.flow.tick(600)).toEqual({ kind: 'wait' });
    expect(frames(await slow.flow.tick(1100))).toEqual([requestFrame(FunctionCode.ENERGY, NODE)]);
    expect(frames(await slow.flow.tick(10_100))).toHaveLength(2); // a new ARM once the challenge is 10 s old
  });
});
