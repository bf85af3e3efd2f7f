import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { buildConfigPage, CONFIG_PAGE_LENGTH, crc32, encodeConfigPage, parseConfigPage } from './config-page';
import { DEMO_SITE_KEY, deriveGroupKey, deriveMeterKey, fromHex, toHex } from './keys';

const UID = fromHex('3a0021000b51343334363530');
const text = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('gives the IEEE check value and zlib\u2019s results', () => {
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      }),
    );
  });

  it('continues a running CRC', () => {
    const all = text('hello, world');
    expect(crc32(all.subarray(5), crc32(all.subarray(0, 5)))).toBe(crc32(all));
  });
});

describe('configuration page', () => {
  const page = buildConfigPage(DEMO_SITE_KEY, UID, 7);

  it('lays out magic, version, node, reserved, uid, keys and CRC as the spec table', () => {
    expect(page).toHaveLength(CONFIG_PAGE_LENGTH);
    const hex = toHex(page);
    expect(hex.slice(0, 16)).toBe('5757434601000700');
    expect(hex.slice(16, 40)).toBe(toHex(UID));
    expect(hex.slice(40, 104)).toBe(toHex(deriveMeterKey(DEMO_SITE_KEY, UID)));
    expect(hex.slice(104, 168)).toBe(toHex(deriveGroupKey(DEMO_SITE_KEY)));
    expect(new DataView(page.buffer).getUint32(84, true)).toBe(zlibCrc32(page.subarray(0, 84)));
  });

  it('parses what it builds', () => {
    expect(parseConfigPage(page)).toEqual({
      ok: true,
      page: { node: 7, uid: UID, meterKey: deriveMeterKey(DEMO_SITE_KEY, UID), groupKey: deriveGroupKey(DEMO_SITE_KEY) },
    });
  });

  it('round-trips any page', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 127 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (node, uid, meterKey, groupKey) => {
          const parsed = parseConfigPage(encodeConfigPage({ node, uid, meterKey, groupKey }));
          expect(parsed).toEqual({ ok: true, page: { node, uid, meterKey, groupKey } });
        },
      ),
    );
  });

  it('names what is wrong with a bad page', () => {
    const withCrc = (bytes: Uint8Array) => {
      new DataView(bytes.buffer).setUint32(84, crc32(bytes.subarray(0, 84)), true);
      return bytes;
    };
    expect(parseConfigPage(page.subarray(0, 87))).toMatchObject({ ok: false, reason: 'bad-length' });
    expect(parseConfigPage(new Uint8Array(88).fill(0xff))).toMatchObject({ ok: false, reason: 'bad-magic' });
    const torn = page.slice();
    torn[40] = (torn[40] ?? 0) ^ 1;
    expect(parseConfigPage(torn)).toMatchObject({ ok: false, reason: 'bad-crc' });
    const v2 = page.slice();
    v2[4] = 2;
    expect(parseConfigPage(withCrc(v2))).toMatchObject({ ok: false, reason: 'unsupported-version' });
    for (const node of [0, 128]) {
      const bad = page.slice();
      bad[6] = node;
      expect(parseConfigPage(withCrc(bad))).toMatchObject({ ok: false, reason: 'bad-node' });
    }
    const reserved = page.slice();
    reserved[7] = 9;
    expect(parseConfigPage(withCrc(reserved))).toMatchObject({ ok: true });
  });

  it('refuses to build a page for node 0 or 128 or a short uid', () => {
    expect(() => buildConfigPage(DEMO_SITE_KEY, UID, 0)).toThrow(RangeError);
    expect(() => buildConfigPage(DEMO_SITE_KEY, UID, 128)).toThrow(RangeError);
    expect(() => buildConfigPage(DEMO_SITE_KEY, UID.subarray(1), 1)).toThrow(RangeError);
  });

  it('never throws on arbitrary 88-byte pages, and always gives a reason', () => {
    const magicPrefixed = fc.uint8Array({ minLength: 84, maxLength: 84 }).map((b) => {
      const bytes = new Uint8Array(88);
      bytes.set(b);
      bytes.set(text('WWCF'));
      new DataView(bytes.buffer).setUint32(84, crc32(bytes.subarray(0, 84)), true);
      return bytes;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 88, maxLength: 88 }), magicPrefixed, fc.uint8Array({ maxLength: 100 })), (bytes) => {
        const result = parseConfigPage(bytes);
        if (!result.ok) expect(result.detail).not.toBe('');
        else expect(encodeConfigPage(result.page).subarray(8)).toEqual(bytes.subarray(8));
      }),
    );
  });
});
