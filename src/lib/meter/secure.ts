/**
 * Secured messages (docs/protocol.md §3): `body = payload ‖ FV (u32) ‖ MAC (8 bytes)`, where
 * `MAC = HMAC-SHA256(key, id (u16) ‖ payload ‖ FV (u32))` truncated to 8 bytes. All little-endian.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CanFrame } from '../can/frame';
import { MAX_ID } from './ids';
import { MAX_BODY_LENGTH, segment } from './segmentation';

export const FV_LENGTH = 4;
export const MAC_LENGTH = 8;
/** FV and MAC: what a body holds beyond its payload. */
export const SECURITY_OVERHEAD = FV_LENGTH + MAC_LENGTH;
export const MAX_PAYLOAD_LENGTH = MAX_BODY_LENGTH - SECURITY_OVERHEAD;
export const MIN_FV = 1;
export const MAX_FV = 0xffffffff;

export type OpenFailure = 'bad-mac' | 'stale' | 'malformed';

export type OpenResult =
  | { readonly ok: true; readonly payload: Uint8Array; readonly fv: number }
  | { readonly ok: false; readonly reason: OpenFailure; readonly detail: string };

/** The truncated MAC of a message; throws RangeError for an identifier, FV or payload out of range. */
export function computeMac(key: Uint8Array, id: number, payload: Uint8Array, fv: number): Uint8Array {
  return macOf(key, id, payload, fv);
}

/** The body of a secured message; throws RangeError for FV 0 or past 0xFFFFFFFF, or a payload over 100 bytes. */
export function seal(key: Uint8Array, id: number, payload: Uint8Array, fv: number): Uint8Array {
  if (!Number.isInteger(fv) || fv < MIN_FV || fv > MAX_FV) throw new RangeError(`freshness value ${fv} is outside 1..0xffffffff`);
  if (payload.length > MAX_PAYLOAD_LENGTH) throw new RangeError(`a payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_LENGTH}`);
  const body = new Uint8Array(payload.length + SECURITY_OVERHEAD);
  body.set(payload);
  new DataView(body.buffer).setUint32(payload.length, fv, true);
  body.set(macOf(key, id, payload, fv), payload.length + FV_LENGTH);
  return body;
}

/** seal(), segmented into the frames that carry it. */
export function sealFrames(key: Uint8Array, id: number, payload: Uint8Array, fv: number): CanFrame[] {
  return segment(id, seal(key, id, payload, fv));
}

/**
 * Verifies a body received on `id`. The MAC is checked before freshness, so `stale` only ever
 * counts authentic replays and a forged FV is always `bad-mac`. FV 0 is never fresh: counters start
 * at 1. Receivers check the payload length for the function first (records.ts
 * payloadLengthProblem) and store the returned FV as the sender's last accepted one.
 */
export function open(key: Uint8Array, id: number, body: Uint8Array, lastAcceptedFv: number): OpenResult {
  if (body.length < SECURITY_OVERHEAD) {
    return { ok: false, reason: 'malformed', detail: `a body of ${body.length} bytes cannot hold FV and MAC (${SECURITY_OVERHEAD})` };
  }
  if (body.length > MAX_BODY_LENGTH) {
    return { ok: false, reason: 'malformed', detail: `a body of ${body.length} bytes exceeds ${MAX_BODY_LENGTH}` };
  }
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    return { ok: false, reason: 'malformed', detail: `identifier ${id} is not an 11-bit identifier` };
  }
  const payloadLength = body.length - SECURITY_OVERHEAD;
  const payload = body.slice(0, payloadLength);
  const fv = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(payloadLength, true);
  const expected = macOf(key, id, payload, fv);
  if (!constantTimeEqual(expected, body.subarray(payloadLength + FV_LENGTH))) {
    return { ok: false, reason: 'bad-mac', detail: `the MAC does not verify for identifier 0x${id.toString(16)}` };
  }
  if (fv <= lastAcceptedFv) {
    return { ok: false, reason: 'stale', detail: `freshness value ${fv} is not above the last accepted ${lastAcceptedFv}` };
  }
  return { ok: true, payload, fv };
}

/** Compares every byte whatever the first difference, so timing tells nothing about the tag. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

function macOf(key: Uint8Array, id: number, payload: Uint8Array, fv: number): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new RangeError(`identifier ${id} is outside 0..0x${MAX_ID.toString(16)}`);
  if (!Number.isInteger(fv) || fv < 0 || fv > MAX_FV) throw new RangeError(`freshness value ${fv} is not a u32`);
  const input = new Uint8Array(2 + payload.length + FV_LENGTH);
  const view = new DataView(input.buffer);
  view.setUint16(0, id, true);
  input.set(payload, 2);
  view.setUint32(2 + payload.length, fv, true);
  return hmac(sha256, key, input).slice(0, MAC_LENGTH);
}
