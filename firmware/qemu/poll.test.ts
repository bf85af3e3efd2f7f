/**
 * The frames the meter's firmware put on the loopback bus under QEMU (make -C firmware qemu,
 * build/qemu/poll.log), checked with the app's own protocol code: every record is reassembled,
 * authenticated with the meter key the app derives from the site key, fresh across the reset,
 * and says what a 230 V / 10 A / PF 0.8 load would.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CanFrame } from '../../src/lib/can/frame';
import { FunctionCode, isRecordFunction, splitId } from '../../src/lib/meter/ids';
import { DEMO_SITE_KEY, deriveMeterKey, fromHex } from '../../src/lib/meter/keys';
import { decodeRecord, type MeterRecord } from '../../src/lib/meter/records';
import { open } from '../../src/lib/meter/secure';
import { Reassembler } from '../../src/lib/meter/segmentation';

const log = readFileSync(fileURLToPath(new URL('../build/qemu/poll.log', import.meta.url)), 'utf8');

interface LoggedFrame {
  readonly boot: number;
  readonly fromMeter: boolean;
  readonly frame: CanFrame;
}

function frames(): LoggedFrame[] {
  const out: LoggedFrame[] = [];
  for (const line of log.split('\n')) {
    const m = /^FRAME (\d) (M>A|A>M) ([RD]) ([0-9a-f]{4}) (\d)(?: ([0-9a-f]*))?$/.exec(line.trim());
    if (!m) continue;
    const remote = m[3] === 'R';
    const data = remote ? new Uint8Array(0) : fromHex(m[6] ?? '');
    out.push({
      boot: Number(m[1]),
      fromMeter: m[2] === 'M>A',
      frame: { id: parseInt(m[4] ?? '', 16), extended: false, remote, dlc: Number(m[5]), data },
    });
  }
  return out;
}

interface Received {
  readonly boot: number;
  readonly fv: number;
  readonly record: MeterRecord;
}

function records(key: Uint8Array): Received[] {
  const reassembler = new Reassembler({ now: () => 0 });
  const out: Received[] = [];
  let lastFv = 0;
  for (const { boot, fromMeter, frame } of frames()) {
    if (!fromMeter) continue;
    for (const event of reassembler.push(frame)) {
      expect(event.kind).toBe('message');
      if (event.kind !== 'message') continue;
      const opened = open(key, event.id, event.body, lastFv);
      expect(opened.ok, opened.ok ? '' : opened.detail).toBe(true);
      if (!opened.ok) continue;
      lastFv = opened.fv;
      const { fn } = splitId(event.id);
      expect(isRecordFunction(fn)).toBe(true);
      if (!isRecordFunction(fn)) continue;
      const decoded = decodeRecord(fn, opened.payload);
      expect(decoded.ok).toBe(true);
      if (decoded.ok) out.push({ boot, fv: opened.fv, record: decoded.value });
    }
  }
  return out;
}

const uid = fromHex(/^UID ([0-9a-f]{24})/m.exec(log)?.[1] ?? '');
const meterKey = deriveMeterKey(DEMO_SITE_KEY, uid);

describe('the meter firmware under QEMU', () => {
  it('ran to the end with its own checks passing', () => {
    expect(log).toMatch(/^qemu: ok$/m);
    expect(uid.length).toBe(12);
  });

  it('answers each remote-frame poll with an authenticated record of the polled function', () => {
    const got = records(meterKey);
    const polls = frames().filter((f) => !f.fromMeter && f.frame.remote);
    expect(polls.map((p) => splitId(p.frame.id).fn)).toEqual([FunctionCode.SNAPSHOT, FunctionCode.STATUS, FunctionCode.SNAPSHOT, FunctionCode.ENERGY]);
    expect(got.map((r) => `${r.boot}:${r.record.function}`)).toEqual([
      `1:${FunctionCode.SNAPSHOT}`,
      `1:${FunctionCode.STATUS}`,
      `1:${FunctionCode.ACK}`,
      `2:${FunctionCode.SNAPSHOT}`,
      `2:${FunctionCode.ENERGY}`,
    ]);
  });

  it('measures the simulated 230 V, 10 A, PF 0.8 load and reports its identity', () => {
    const got = records(meterKey);
    for (const r of got) {
      if (r.record.function === FunctionCode.SNAPSHOT) {
        expect(r.record.snapshot.volts).toBeCloseTo(230, 0);
        expect(r.record.snapshot.amps).toBeGreaterThan(9.9);
        expect(r.record.snapshot.amps).toBeLessThan(10.1);
        expect(r.record.snapshot.powerFactor).toBeCloseTo(0.8, 1);
        expect(r.record.snapshot.watts).toBeGreaterThan(1800);
        expect(r.record.snapshot.watts).toBeLessThan(1880);
      }
      if (r.record.function === FunctionCode.STATUS) {
        expect(r.record.status.uidHex).toBe('404142434445464748494a4b');
        expect(r.record.status.tec).toBe(0);
        expect(r.record.status.rec).toBe(0);
      }
      if (r.record.function === FunctionCode.ACK) {
        expect(r.record.ack.function).toBe(FunctionCode.RELAY);
        expect(r.record.ack.resultName).toBe('ok');
      }
      if (r.record.function === FunctionCode.ENERGY) {
        expect(r.record.energy.boots).toBe(2);
        expect(r.record.energy.importMwh).toBeGreaterThanOrEqual(1000);
      }
    }
  });

  it('never reuses a freshness value across the reset', () => {
    const got = records(meterKey);
    const first = got.filter((r) => r.boot === 1).map((r) => r.fv);
    const second = got.filter((r) => r.boot === 2).map((r) => r.fv);
    expect(Math.min(...second)).toBeGreaterThan(Math.max(...first));
  });

  it('is verified with the right key only', () => {
    const wrong = deriveMeterKey(DEMO_SITE_KEY, new Uint8Array(12));
    const reassembler = new Reassembler({ now: () => 0 });
    const first = frames().filter((f) => f.fromMeter).map((f) => f.frame);
    const events = first.flatMap((f) => reassembler.push(f));
    const message = events.find((e) => e.kind === 'message');
    expect(message).toBeDefined();
    if (message?.kind === 'message') expect(open(wrong, message.id, message.body, 0).ok).toBe(false);
  });
});
