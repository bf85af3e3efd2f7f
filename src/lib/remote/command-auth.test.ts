import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashPin } from '../settings/site-settings';
import { canonicalJson, COMMAND_WINDOW_MS, issueViewer, pairingCode, pinKey, readPairingCode, signCommand, signResult, verifyCommand, verifyResult, type VerifyContext } from './command-auth';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const counter = (bytes: number[]) => {
  let k = 0;
  return (n: number) => Uint8Array.from({ length: n }, () => bytes[k++ % bytes.length] as number);
};
const viewer = issueViewer('site-a', counter([1, 2, 3, 4, 5, 6, 7, 8, 9]));
const other = issueViewer('site-a', counter([9, 8, 7]));
const relayOff = { type: 'relay' as const, uid: '575753494d00000000000002', on: false };

function ctx(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return { viewers: new Map([[viewer.viewer, viewer]]), lastSeq: () => 4, now: NOW, pin: undefined, ...overrides };
}

describe('remote command authentication', () => {
  it('accepts a command signed with the viewer’s key, newer than the last, on time', async () => {
    const command = await signCommand(viewer, 5, NOW + 20_000, relayOff);
    expect(verifyCommand(JSON.parse(JSON.stringify(command)), ctx())).toEqual({ ok: true, command });
  });

  it('refuses an altered, replayed, late, foreign or unknown command', async () => {
    const command = await signCommand(viewer, 5, NOW, relayOff);
    expect(verifyCommand({ ...command, action: { ...relayOff, on: true } }, ctx())).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(verifyCommand({ ...command, action: { ...relayOff, uid: '575753494d00000000000003' } }, ctx())).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(verifyCommand(command, ctx({ lastSeq: () => 5 }))).toMatchObject({ ok: false, reason: 'replayed' });
    expect(verifyCommand(command, ctx({ now: NOW + COMMAND_WINDOW_MS + 1 }))).toMatchObject({ ok: false, reason: 'out-of-time' });
    const forged = await signCommand(other, 5, NOW, relayOff);
    expect(verifyCommand({ ...forged, viewer: viewer.viewer }, ctx())).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(verifyCommand(forged, ctx())).toMatchObject({ ok: false, reason: 'unknown-viewer' });
    expect(verifyCommand({ hello: 'world' }, ctx())).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('proves the PIN without sending it: the site checks the proof against the hash it stores', async () => {
    const stored = await hashPin('2468');
    // The viewer derives the same key from the digits and the public salt (noble vs WebCrypto).
    expect(await pinKey('2468', stored.saltHex, stored.iterations)).toBe(stored.hashHex);
    const withPin = (digits: string) => signCommand(viewer, 5, NOW, relayOff, { digits, saltHex: stored.saltHex, iterations: stored.iterations });
    expect(verifyCommand(await withPin('2468'), ctx({ pin: stored })).ok).toBe(true);
    expect(verifyCommand(await withPin('1111'), ctx({ pin: stored }))).toMatchObject({ ok: false, reason: 'bad-pin' });
    expect(verifyCommand(await signCommand(viewer, 5, NOW, relayOff), ctx({ pin: stored }))).toMatchObject({ ok: false, reason: 'pin-required' });
    const command = await withPin('2468');
    expect(JSON.stringify(command)).not.toContain('2468');
  }, 20_000);

  it('signs the result so the viewer can trust it, and spots a forged one', () => {
    const result = signResult(viewer, { seq: 5, ok: true, detail: 'switched off' });
    expect(verifyResult(viewer, JSON.parse(JSON.stringify(result)))).toEqual({ v: 1, viewer: viewer.viewer, seq: 5, ok: true, detail: 'switched off' });
    expect(verifyResult(viewer, { ...result, ok: false })).toBeUndefined();
    expect(verifyResult(other, result)).toBeUndefined();
  });

  it('reads back the pairing code it writes, and refuses anything else', () => {
    expect(readPairingCode(pairingCode(viewer))).toEqual(viewer);
    expect(() => readPairingCode('wwv1:site:zz:00')).toThrow(/pairing code/);
  });

  it('never accepts random payloads', () => {
    fc.assert(
      fc.property(fc.anything(), (payload) => {
        expect(verifyCommand(payload, ctx()).ok).toBe(false);
      }),
    );
  });

  it('encodes canonically whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
  });
});
