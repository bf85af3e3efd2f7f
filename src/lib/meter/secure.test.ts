import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canId, FunctionCode } from './ids';
import { fromHex, toHex } from './keys';
import { computeMac, constantTimeEqual, MAX_FV, MAX_PAYLOAD_LENGTH, open, seal, sealFrames } from './secure';
import { Reassembler } from './segmentation';

const KEY = fromHex('cbcc40e5de15029d5c9a9c25a88ffa2ebdadf20f90382d0a29884f172ea5ce32');
const OTHER_KEY = fromHex('01d318ed196e52d7bb807727bc3e6e9dc2bc76a92d5c808ffb54c97195303f75');
const RELAY_1 = canId(FunctionCode.RELAY, 1);

describe('seal', () => {
  it('lays out payload, FV (u32 LE) and the first 8 bytes of HMAC over id (u16 LE), payload and FV', () => {
    const body = seal(KEY, 0x205, new Uint8Array([0xaa, 0xbb]), 0x01020304);
    expect(toHex(body.subarray(0, 6))).toBe('aabb04030201');
    const expected = hmac(sha256, KEY, fromHex('0502aabb04030201')).slice(0, 8);
    expect(body.subarray(6)).toEqual(expected);
    expect(computeMac(KEY, 0x205, new Uint8Array([0xaa, 0xbb]), 0x01020304)).toEqual(expected);
  });

  it('refuses FV 0, FV past 0xFFFFFFFF and payloads over 100 bytes', () => {
    expect(() => seal(KEY, RELAY_1, new Uint8Array(1), 0)).toThrow(RangeError);
    expect(() => seal(KEY, RELAY_1, new Uint8Array(1), MAX_FV + 1)).toThrow(RangeError);
    expect(() => seal(KEY, RELAY_1, new Uint8Array(MAX_PAYLOAD_LENGTH + 1), 1)).toThrow(RangeError);
    expect(() => seal(KEY, 0x800, new Uint8Array(1), 1)).toThrow(RangeError);
    expect(seal(KEY, RELAY_1, new Uint8Array(MAX_PAYLOAD_LENGTH), MAX_FV)).toHaveLength(112);
  });

  it('segments into frames: RELAY takes two', () => {
    expect(sealFrames(KEY, RELAY_1, new Uint8Array([1]), 1).map((f) => f.dlc)).toEqual([8, 7]);
  });
});

describe('open', () => {
  const payload = new Uint8Array([1]);
  const body = seal(KEY, RELAY_1, payload, 100);

  it('accepts a fresh, authentic message', () => {
    expect(open(KEY, RELAY_1, body, 99)).toEqual({ ok: true, payload, fv: 100 });
    expect(open(KEY, RELAY_1, seal(KEY, RELAY_1, payload, 1), 0)).toMatchObject({ ok: true, fv: 1 });
    expect(open(KEY, RELAY_1, seal(KEY, RELAY_1, payload, MAX_FV), MAX_FV - 1)).toMatchObject({ ok: true, fv: MAX_FV });
  });

  it('rejects a replay: FV equal to or below the last accepted', () => {
    expect(open(KEY, RELAY_1, body, 100)).toMatchObject({ ok: false, reason: 'stale' });
    expect(open(KEY, RELAY_1, body, 101)).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('rejects another key or another identifier', () => {
    expect(open(OTHER_KEY, RELAY_1, body, 0)).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(open(KEY, canId(FunctionCode.RELAY, 2), body, 0)).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(open(KEY, canId(FunctionCode.CONTROL, 1), body, 0)).toMatchObject({ ok: false, reason: 'bad-mac' });
  });

  it('checks the MAC before freshness, so a forged old FV is bad-mac, not stale', () => {
    const forged = body.slice();
    forged[1] = 5; // FV 100 → 5
    expect(open(KEY, RELAY_1, forged, 99)).toMatchObject({ ok: false, reason: 'bad-mac' });
  });

  it('rejects bodies too short for FV and MAC, or too long for 16 frames', () => {
    expect(open(KEY, RELAY_1, new Uint8Array(11), 0)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(KEY, RELAY_1, new Uint8Array(113), 0)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(KEY, 0x800, body, 0)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('opens what it sealed, after segmentation and reassembly', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 0x7ff }),
        fc.uint8Array({ maxLength: MAX_PAYLOAD_LENGTH }),
        fc.integer({ min: 1, max: MAX_FV }),
        (key, id, p, fv) => {
          const r = new Reassembler({ now: () => 0 });
          const [event] = sealFrames(key, id, p, fv).flatMap((frame) => r.push(frame));
          expect(event?.kind).toBe('message');
          if (event?.kind !== 'message') return;
          expect(open(key, id, event.body, fv - 1)).toEqual({ ok: true, payload: p, fv });
        },
      ),
    );
  });

  it('rejects every single bit flip anywhere in the body', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: MAX_PAYLOAD_LENGTH }),
        fc.integer({ min: 1, max: MAX_FV }),
        fc.nat(),
        (key, p, fv, where) => {
          const sealed = seal(key, 0x301, p, fv);
          const bit = where % (sealed.length * 8);
          sealed[bit >> 3] = (sealed[bit >> 3] ?? 0) ^ (1 << (bit & 7));
          expect(open(key, 0x301, sealed, 0)).toMatchObject({ ok: false, reason: 'bad-mac' });
        },
      ),
    );
  });

  it('never throws on arbitrary bodies, and always gives a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 130 }), fc.integer({ min: 0, max: 0x7ff }), fc.integer({ min: 0, max: MAX_FV }), (b, id, last) => {
        const result = open(KEY, id, b, last);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(['bad-mac', 'stale', 'malformed']).toContain(result.reason);
          expect(result.detail).not.toBe('');
        }
      }),
    );
  });
});

describe('constantTimeEqual', () => {
  it('compares contents and lengths', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
