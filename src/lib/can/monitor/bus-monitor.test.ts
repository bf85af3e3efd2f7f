import { describe, expect, it } from 'vitest';
import { dataFrame, remoteFrame } from '../frame';
import { frameOnWireBits } from '../bit-timing';
import { parseCandump } from '../candump';
import { replayTransport } from '../replay';
import { openSlcanTransport } from '../slcan/serial-transport';
import { collect, runTransportContract, type TransportHarness } from '../testing/transport-contract';
import type { TransportEvent } from '../transport';
import { busRig } from '../../sim/testing/bus-rig';
import { NAKAKIYO_FLAVOUR, SlcanAdapterEmulator, USBTIN_FLAVOUR } from '../../sim/slcan-adapter';
import { canId, FunctionCode } from '../../meter/ids';
import { requestFrame } from '../../meter/link';
import { encodeSnapshot } from '../../meter/records';
import { sealFrames } from '../../meter/secure';
import { BusMonitor } from './bus-monitor';
import { ProtocolDecoder } from './decode';
import { teeToMonitor } from './tee';

function slcanRig(flavour = USBTIN_FLAVOUR, bitrate = 125_000) {
  const r = busRig(bitrate);
  const adapter = new SlcanAdapterEmulator(r.scheduler, r.bus, { flavour });
  const monitor = new BusMonitor({ bitrate, now: r.nowMs });
  const open = async () => teeToMonitor(await r.during(openSlcanTransport(adapter.port, { bitrate, now: r.nowMs, timers: r.timers, statusPollMs: 0 })), monitor, r.nowMs);
  return { ...r, adapter, monitor, open };
}

runTransportContract('slcan through the bus monitor tee', async (): Promise<TransportHarness> => {
  const r = slcanRig();
  const transport = await r.open();
  return { transport, peerSends: (f) => r.peer.send(f), peerReceived: r.peerReceived, peerTransmitted: r.peerTransmitted, settle: r.settle, unplug: () => r.adapter.port.unplug() };
});

const snapshot = {
  timeS: 1_700_000_000,
  timeCs: 25,
  flags: 1,
  vrms: 23_012,
  irms: 8_695,
  p: 2_000_400,
  n: 0,
  pf: 10_000,
  f: 50_001,
  thdV: 150,
  thdI: 0xffff,
};

describe('protocol decoding', () => {
  it('names requests and decodes a whole SNAPSHOT when its last frame arrives', () => {
    const decoder = new ProtocolDecoder();
    expect(decoder.decode(requestFrame(FunctionCode.SNAPSHOT, 7), 0)).toEqual({ summary: 'SNAPSHOT request to meter 7' });
    const frames = sealFrames(new Uint8Array(32), canId(FunctionCode.SNAPSHOT, 7), encodeSnapshot(snapshot), 1234);
    const decoded = frames.map((f, i) => decoder.decode(f, i));
    expect(decoded.slice(0, -1).map((d) => d.message)).toEqual(frames.slice(0, -1).map(() => undefined));
    expect(decoded[0]?.summary).toBe(`SNAPSHOT from meter 7, frame 1/${frames.length}`);
    expect(decoded.at(-1)?.message).toBe('2000.4 W, 230.12 V, 8.695 A, PF 1.000, 50.001 Hz, relay on (fv 1234, MAC not checked here)');
  });

  it('says what it cannot read', () => {
    const decoder = new ProtocolDecoder();
    expect(decoder.decode(dataFrame(0x18ff50e5, [1], true), 0).summary).toBe('extended identifier: not Wattwall traffic');
    expect(decoder.decode(dataFrame(canId(12, 3), [0x00, 1]), 0).summary).toBe('reserved 12 (function reserved), node 3');
    expect(decoder.decode(dataFrame(canId(FunctionCode.SNAPSHOT, 5), [0x12, 1, 2, 3, 4, 5, 6, 7]), 0).message).toMatch(/^malformed: frame 1 of 0..2 without frame 0/);
  });
});

describe('BusMonitor', () => {
  it('measures the load of a saturated bus as the bus itself counts it', async () => {
    const r = slcanRig(NAKAKIYO_FLAVOUR, 125_000); // µs stamps: the monitor times frames by the adapter
    const transport = await r.open();
    collect(transport);
    await r.settle();
    // A peer that never lets the bus rest: frames queued faster than they can go out.
    const feed = () => {
      while (r.peer.queued < 4) r.peer.send(dataFrame(0x300, [1, 2, 3, 4, 5, 6, 7, 8]));
    };
    r.peer.onTransmitted = feed;
    feed();
    r.bus.resetStats();
    await r.run(3000, 20);
    const busLoad = r.bus.stats().load;
    expect(busLoad).toBeGreaterThan(0.99);
    const stats = r.monitor.stats(r.nowMs() * 1000);
    expect(stats.load).toBeGreaterThan(0.97);
    expect(stats.load).toBeLessThanOrEqual(1.001);
    // 8-byte frames of 111..135 bits at 125 kbit/s: about 1000 per second.
    expect(stats.framesPerSecond).toBeGreaterThan(900);
    expect(stats.framesPerSecond).toBeLessThan(1130);
    r.peer.onTransmitted = null;
    await transport.close();
  });

  it('counts our frames and the others, with exact bit lengths', async () => {
    const r = slcanRig();
    const transport = await r.open();
    collect(transport);
    const writer = transport.toBus.getWriter();
    await writer.write(remoteFrame(0x204, 8));
    r.peer.send(dataFrame(0x104, [1, 2]));
    await r.settle();
    const stats = r.monitor.stats();
    expect(stats).toMatchObject({ rxFrames: 1, txFrames: 1, link: 'connected' });
    const frames = r.monitor.entries().filter((e) => e.kind === 'frame');
    expect(frames.map((e) => [e.direction, e.text])).toEqual([
      ['tx', '204#R8'],
      ['rx', '104#0102'],
    ]);
    const bits = frameOnWireBits(remoteFrame(0x204, 8)).total + frameOnWireBits(dataFrame(0x104, [1, 2])).total;
    const nowUs = Math.max(...frames.map((e) => e.timeUs));
    expect(r.monitor.stats(nowUs).load).toBeCloseTo(bits / 125_000, 9);
    writer.releaseLock();
    await transport.close();
  });

  it('counts errors by kind, bus-offs and warnings, and keeps the bus state with its counters', () => {
    const monitor = new BusMonitor({ bitrate: 125_000, now: () => 1000 });
    const events: TransportEvent[] = [
      { type: 'status', status: 'connected' },
      { type: 'bus-error', kind: 'ack', detail: 'no acknowledgement', at: 1 },
      { type: 'bus-error', kind: 'ack', detail: 'no acknowledgement', at: 2 },
      { type: 'bus-state', state: 'error-passive', txErrors: 136, rxErrors: 0, at: 3 },
      { type: 'bus-state', state: 'bus-off', txErrors: 256, rxErrors: 0, at: 4 },
      { type: 'bus-error', kind: 'rx-overflow', detail: 'dropped', at: 5 },
      { type: 'bus-state', state: 'error-active', txErrors: 0, rxErrors: 0, at: 6 },
      { type: 'warning', message: 'garbage' },
    ];
    for (const e of events) monitor.observe(e);
    expect(monitor.stats()).toMatchObject({ busErrors: 3, errorsByKind: { ack: 2, 'rx-overflow': 1 }, busOffs: 1, busState: 'error-active', txErrorCounter: 0, warnings: 1 });
    expect(monitor.entries().map((e) => e.text)).toContain('bus bus-off (TEC 256, REC 0)');
  });

  it('keeps the newest entries up to its capacity', () => {
    const monitor = new BusMonitor({ bitrate: 125_000, capacity: 5, now: () => 0 });
    for (let i = 0; i < 12; i++) monitor.observe({ type: 'frame', frame: dataFrame(i, [i]), receivedAt: i });
    expect(monitor.entries().map((e) => e.frame?.id)).toEqual([7, 8, 9, 10, 11]);
    expect(monitor.entries(2).map((e) => e.frame?.id)).toEqual([10, 11]);
    expect(monitor.stats().rxFrames).toBe(12);
  });
});

describe('candump export and replay', () => {
  it('a capture written out and replayed gives the same frames, times, decodes and load', async () => {
    const r = slcanRig(NAKAKIYO_FLAVOUR);
    const transport = await r.open();
    collect(transport);
    const writer = transport.toBus.getWriter();
    const message = sealFrames(new Uint8Array(32), canId(FunctionCode.SNAPSHOT, 7), encodeSnapshot(snapshot), 99);
    for (const f of message) r.peer.send(f);
    await writer.write(requestFrame(FunctionCode.STATUS, 9));
    await r.settle();
    await r.run(300, 10);
    r.peer.send(dataFrame(0x555, [5]));
    await r.settle();
    const log = r.monitor.toCandump();
    const lines = log.trim().split('\n');
    expect(lines).toHaveLength(message.length + 2);
    expect(lines.every((l) => /^\(\d{10}\.\d{6}\) can0 [0-9A-F]{3}#/.test(l))).toBe(true);

    const parsed = parseCandump(log);
    expect(parsed.problems).toEqual([]);
    const replayed = new BusMonitor({ bitrate: 125_000, now: () => 0 });
    const replay = teeToMonitor(replayTransport(parsed.entries), replayed);
    const { done } = collect(replay);
    await done;
    const live = r.monitor.entries().filter((e) => e.kind === 'frame');
    const again = replayed.entries().filter((e) => e.kind === 'frame');
    expect(again.map((e) => [e.text, e.summary, e.message])).toEqual(
      [...live].sort((a, b) => a.timeUs - b.timeUs).map((e) => [e.text, e.summary, e.message]),
    );
    expect(again.map((e) => e.timeUs)).toEqual(parsed.entries.map((e) => e.timeUs));
    expect(again.some((e) => e.message?.startsWith('2000.4 W'))).toBe(true);
    const end = Math.max(...again.map((e) => e.timeUs));
    expect(replayed.stats(end).load).toBeCloseTo(r.monitor.stats(end).load, 9);
    writer.releaseLock();
    await transport.close();
  });

  it('replays in real time when asked, and a replay never transmits', async () => {
    const r = busRig();
    const entries = parseCandump(['(100.000000) can0 101#01', '(100.500000) can0 102#02', '(101.000000) can0 20000040#0000000000000000'].join('\n')).entries;
    const transport = replayTransport(entries, { speed: 1, timers: r.timers });
    const { events, done } = collect(transport);
    await r.run(200, 10);
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(1);
    await r.run(1000, 10);
    await done;
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(2);
    expect(events.find((e) => e.type === 'bus-state')).toMatchObject({ state: 'bus-off', at: 101_000 });
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'disconnected', detail: 'end of the capture' });
    await expect(transport.toBus.getWriter().write(dataFrame(1, []))).rejects.toThrow('a replayed capture does not transmit');
  });
});
