/**
 * Key handling (docs/protocol.md §3 "Keys"): one random site key; per-meter keys and the group key
 * derived from it with HKDF-SHA256, so a meter's flash reveals only its own key.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const SITE_KEY_LENGTH = 32;
export const METER_KEY_LENGTH = 32;
export const UID_LENGTH = 12;

const encoder = new TextEncoder();
export const METER_KEY_SALT = encoder.encode('wattwall meter key v1');
export const GROUP_KEY_SALT = encoder.encode('wattwall group key v1');

/**
 * The site key of the demo bus and the simulated meters. Public by construction: never use it for
 * real meters.
 */
export const DEMO_SITE_KEY: Uint8Array = encoder.encode('wattwall demo site key: public!!');

/** 32 bytes from the platform's cryptographic random source. */
export function generateSiteKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SITE_KEY_LENGTH));
}

/** HKDF-SHA256(IKM = site key, salt = "wattwall meter key v1", info = uid, L = 32). */
export function deriveMeterKey(siteKey: Uint8Array, uid: Uint8Array): Uint8Array {
  assertLength(siteKey, SITE_KEY_LENGTH, 'site key');
  assertLength(uid, UID_LENGTH, 'uid');
  return hkdf(sha256, siteKey, METER_KEY_SALT, uid, METER_KEY_LENGTH);
}

/** HKDF-SHA256(IKM = site key, salt = "wattwall group key v1", info = "", L = 32): authenticates broadcast TIME. */
export function deriveGroupKey(siteKey: Uint8Array): Uint8Array {
  assertLength(siteKey, SITE_KEY_LENGTH, 'site key');
  return hkdf(sha256, siteKey, GROUP_KEY_SALT, new Uint8Array(0), METER_KEY_LENGTH);
}

function assertLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new RangeError(`${what} is ${bytes.length} bytes, not ${length}`);
}

/** Lowercase hex without separators, the notation of test-vectors/protocol.json. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** Bytes of a hex string (either case, no separators); undefined if it is not one. */
export function parseHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Like parseHex, for text the program wrote itself: throws RangeError if it is not hex. */
export function fromHex(text: string): Uint8Array {
  const bytes = parseHex(text);
  if (!bytes) throw new RangeError(`not a hex string: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
  return bytes;
}

/** A site key typed or pasted by the user (a backup): 64 hex digits, spaces and colons allowed. */
export function parseSiteKey(text: string): Uint8Array | undefined {
  const bytes = parseHex(text.replace(/[\s:]/g, ''));
  return bytes?.length === SITE_KEY_LENGTH ? bytes : undefined;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
