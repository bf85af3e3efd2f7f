import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { parseConfigPage } from './config-page';
import { type CommandFunction, FunctionCode, isCommandFunction, type RecordFunction } from './ids';
import { fromHex, toHex } from './keys';
import { decodeCommand, decodeRecord, type MeterRecord } from './records';
import { buildProtocolVectors, formatVectors, type ProtocolVectors, receiveFrames, snakeCase, wireFields } from './vectors';

const FILE = new URL('../../../test-vectors/protocol.json', import.meta.url);
const committedText = readFileSync(FILE, 'utf8');
const committed = JSON.parse(committedText) as ProtocolVectors;
const text = (s: string) => new TextEncoder().encode(s);

/** The body carried by frames, read straight from the spec's frame layout (no Reassembler). */
function bodyOf(frames: readonly string[]): Uint8Array {
  const parts = frames.map(fromHex);
  const last = parts.length - 1;
  parts.forEach((data, index) => {
    expect(data[0]).toBe((index << 4) | last);
    if (index < last) expect(data.length).toBe(8);
  });
  return Uint8Array.from(parts.flatMap((data) => [...data.subarray(1)]));
}

function macByHand(key: Uint8Array, id: number, payload: Uint8Array, fv: number): string {
  const input = new Uint8Array(2 + payload.length + 4);
  input[0] = id & 0xff;
  input[1] = id >> 8;
  input.set(payload, 2);
  for (let i = 0; i < 4; i++) input[2 + payload.length + i] = Math.floor(fv / 2 ** (8 * i)) & 0xff;
  return toHex(hmac(sha256, key, input).subarray(0, 8));
}

describe('test-vectors/protocol.json', () => {
  it('is exactly what the code generates now (regenerate: npx tsx scripts/gen-protocol-vectors.ts)', () => {
    expect(committedText).toBe(formatVectors(buildProtocolVectors()));
  });

  it('uses noble\u2019s HKDF as RFC 5869 test case 1 does', () => {
    const okm = hkdf(sha256, new Uint8Array(22).fill(0x0b), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('derives every key case as the spec says, recomputed with noble directly', () => {
    expect(committed.protocol).toBe(1);
    expect(committed.keys.length).toBeGreaterThanOrEqual(2);
    for (const k of committed.keys) {
      const site = fromHex(k.site_key);
      expect(k.meter_key).toBe(toHex(hkdf(sha256, site, text('wattwall meter key v1'), fromHex(k.uid), 32)));
      expect(k.group_key).toBe(toHex(hkdf(sha256, site, text('wattwall group key v1'), new Uint8Array(0), 32)));
      const page = fromHex(k.config_page);
      expect(page).toHaveLength(88);
      expect(toHex(page.subarray(0, 8))).toBe(`5757434601 00 ${k.node.toString(16).padStart(2, '0')} 00`.replaceAll(' ', ''));
      expect(new DataView(page.buffer).getUint32(84, true)).toBe(zlibCrc32(page.subarray(0, 84)));
      expect(parseConfigPage(page)).toEqual({
        ok: true,
        page: { node: k.node, uid: fromHex(k.uid), meterKey: fromHex(k.meter_key), groupKey: fromHex(k.group_key) },
      });
    }
  });

  it('carries in every message the MAC HMAC-SHA256 gives, computed by hand', () => {
    for (const m of committed.messages) {
      const body = bodyOf(m.frames);
      const payload = fromHex(m.payload);
      const fv = new Uint8Array(4);
      new DataView(fv.buffer).setUint32(0, m.fv, true);
      expect(toHex(body), m.name).toBe(m.payload + toHex(fv) + m.mac);
      expect(macByHand(fromHex(m.key), m.id, payload, m.fv), m.name).toBe(m.mac);
      expect(m.id, m.name).toBe(m.function * 128 + m.node);
    }
  });

  it('opens and decodes every message to its "decoded" fields', () => {
    for (const m of committed.messages) {
      const outcome = receiveFrames(m.id, fromHex(m.key), m.fv - 1, m.frames.map(fromHex));
      expect(outcome, m.name).toMatchObject({ ok: true, fv: m.fv });
      if (!outcome.ok) continue;
      const fn = m.function as CommandFunction | RecordFunction;
      const decoded = isCommandFunction(fn) ? decodeCommand(fn, outcome.payload) : decodeRecord(fn, outcome.payload);
      expect(decoded.ok, m.name).toBe(true);
      if (!decoded.ok) continue;
      const value = isCommandFunction(fn) ? decoded.value : Object.values(decoded.value as MeterRecord).find((v) => typeof v === 'object');
      expect(wireFields(fn, value as object), m.name).toEqual(m.decoded);
    }
  });

  it('rejects every rejection for the stated reason', () => {
    for (const r of committed.rejections) {
      const outcome = receiveFrames(r.id, fromHex(r.key), r.last_fv, r.frames.map(fromHex));
      expect(outcome, r.name).toMatchObject({ ok: false, reason: r.reason });
    }
  });

  it('covers every command, opcode, record type and edge the spec asks for', () => {
    const { messages, rejections } = committed;
    for (let fn = FunctionCode.RELAY; fn <= FunctionCode.EVENT; fn++) expect(messages.some((m) => m.function === fn), `function ${fn}`).toBe(true);
    for (let op = 1; op <= 6; op++) expect(messages.some((m) => m.function === FunctionCode.CONTROL && m.decoded.opcode === op), `opcode ${op}`).toBe(true);
    expect(messages.some((m) => m.function === FunctionCode.TIME && m.node === 0)).toBe(true);
    expect(messages.some((m) => m.node === 127)).toBe(true);
    expect(messages.some((m) => m.fv === 1)).toBe(true);
    expect(messages.some((m) => m.fv === 0xffffffff)).toBe(true);
    expect(messages.some((m) => typeof m.decoded.p === 'number' && m.decoded.p < 0)).toBe(true);
    expect(messages.some((m) => m.decoded.thd_v === 0xffff)).toBe(true);
    expect(messages.some((m) => m.decoded.import_mwh === 2 ** 48 - 1)).toBe(true);
    for (const reason of ['bad-mac', 'stale', 'malformed']) expect(rejections.some((r) => r.reason === reason)).toBe(true);
    for (const m of messages) for (const key of Object.keys(m.decoded)) expect(key).toBe(snakeCase(key));
  });

  it('writes hex in lowercase without separators', () => {
    const hexes = [
      ...committed.keys.flatMap((k) => [k.site_key, k.uid, k.meter_key, k.group_key, k.config_page]),
      ...committed.messages.flatMap((m) => [m.key, m.payload, m.mac, ...m.frames]),
      ...committed.rejections.flatMap((r) => [r.key, ...r.frames]),
    ];
    for (const hex of hexes) expect(hex).toMatch(/^([0-9a-f]{2})*$/);
  });
});
