import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  bytesEqual,
  DEMO_SITE_KEY,
  deriveGroupKey,
  deriveMeterKey,
  fromHex,
  generateSiteKey,
  GROUP_KEY_SALT,
  METER_KEY_SALT,
  parseHex,
  parseSiteKey,
  toHex,
} from './keys';

const text = (s: string) => new TextEncoder().encode(s);

describe('the libraries, against their RFCs', () => {
  it('HKDF-SHA256 gives RFC 5869 test case 1', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    const salt = fromHex('000102030405060708090a0b0c');
    const info = fromHex('f0f1f2f3f4f5f6f7f8f9');
    expect(toHex(hkdf(sha256, ikm, salt, info, 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('HKDF-SHA256 gives RFC 5869 test case 3 (empty salt and info)', () => {
    expect(toHex(hkdf(sha256, new Uint8Array(22).fill(0x0b), new Uint8Array(0), new Uint8Array(0), 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('HMAC-SHA256 gives RFC 4231 test cases 1, 2 and 5 (truncation)', () => {
    expect(toHex(hmac(sha256, new Uint8Array(20).fill(0x0b), text('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(toHex(hmac(sha256, text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(toHex(hmac(sha256, new Uint8Array(20).fill(0x0c), text('Test With Truncation')).slice(0, 16))).toBe(
      'a3b6167473100ee06e0c796c2955552b',
    );
  });
});

describe('key derivation', () => {
  const uid = fromHex('3a0021000b51343334363530');

  it('uses the spec salts and the uid as info', () => {
    expect(new TextDecoder().decode(METER_KEY_SALT)).toBe('wattwall meter key v1');
    expect(new TextDecoder().decode(GROUP_KEY_SALT)).toBe('wattwall group key v1');
    expect(deriveMeterKey(DEMO_SITE_KEY, uid)).toEqual(hkdf(sha256, DEMO_SITE_KEY, text('wattwall meter key v1'), uid, 32));
    expect(deriveGroupKey(DEMO_SITE_KEY)).toEqual(hkdf(sha256, DEMO_SITE_KEY, text('wattwall group key v1'), undefined, 32));
  });

  it('gives each meter its own key, all different from the group key', () => {
    const other = uid.slice();
    other[11] = (other[11] ?? 0) ^ 1;
    const a = deriveMeterKey(DEMO_SITE_KEY, uid);
    const b = deriveMeterKey(DEMO_SITE_KEY, other);
    expect(a).toHaveLength(32);
    expect(bytesEqual(a, b)).toBe(false);
    expect(bytesEqual(a, deriveGroupKey(DEMO_SITE_KEY))).toBe(false);
    expect(bytesEqual(a, deriveMeterKey(generateSiteKey(), uid))).toBe(false);
  });

  it('refuses a site key or uid of the wrong length', () => {
    expect(() => deriveMeterKey(new Uint8Array(31), uid)).toThrow(RangeError);
    expect(() => deriveMeterKey(DEMO_SITE_KEY, new Uint8Array(16))).toThrow(RangeError);
    expect(() => deriveGroupKey(new Uint8Array(33))).toThrow(RangeError);
  });

  it('generates 32 random bytes', () => {
    const a = generateSiteKey();
    expect(a).toHaveLength(32);
    expect(bytesEqual(a, generateSiteKey())).toBe(false);
  });
});

describe('hex', () => {
  it('round-trips any bytes as lowercase hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toMatch(/^[0-9a-f]*$/);
        expect(fromHex(hex)).toEqual(bytes);
        expect(parseHex(hex.toUpperCase())).toEqual(bytes);
      }),
    );
  });

  it('rejects what is not hex', () => {
    expect(parseHex('abc')).toBeUndefined();
    expect(parseHex('zz')).toBeUndefined();
    expect(parseHex('0x12')).toBeUndefined();
    expect(() => fromHex('12 34')).toThrow(RangeError);
  });

  it('reads a site key from a backup, with spaces or colons', () => {
    const hex = toHex(DEMO_SITE_KEY);
    expect(parseSiteKey(hex)).toEqual(DEMO_SITE_KEY);
    expect(parseSiteKey(` ${hex.match(/../g)?.join(':')}\n`)).toEqual(DEMO_SITE_KEY);
    expect(parseSiteKey(hex.slice(2))).toBeUndefined();
  });
});
