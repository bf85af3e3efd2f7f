/**
 * Remote commands, authenticated end to end: a viewer signs with a key the site issued to it (the
 * pairing code), the aggregator verifies before any CAN command goes out. The broker only carries
 * bytes: it can drop or delay a command, never forge, alter or replay one.
 *
 * - MAC: HMAC-SHA256(viewer key, canonical JSON of the command without its MAC).
 * - Freshness: a counter per viewer that must grow (the site keeps the last one it accepted), and a
 *   time within five minutes of the site's clock (so a command held back for hours is refused).
 * - PIN: when the site has one, the command carries a proof, HMAC-SHA256(PBKDF2(PIN, salt), the
 *   signed fields). The PIN never travels; the site checks the proof with the hash it stores.
 * - The result comes back signed with the same key, so the viewer knows it is the site's answer.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { PinHash } from '../settings/site-settings';
import { RemoteMessageError } from './protocol';

export const COMMAND_VERSION = 1;
/** How far a command's time may be from the site's clock, ms. */
export const COMMAND_WINDOW_MS = 5 * 60_000;

export type RemoteAction = { readonly type: 'relay'; readonly uid: string; readonly on: boolean };

export interface CommandBody {
  readonly v: number;
  readonly viewer: string;
  readonly seq: number;
  readonly at: number;
  readonly action: RemoteAction;
  /** PIN proof, hex; null when no PIN was given. */
  readonly pin: string | null;
}

export interface SignedCommand extends CommandBody {
  readonly mac: string;
}

export interface CommandResult {
  readonly v: number;
  readonly viewer: string;
  /** The seq of the command answered. */
  readonly seq: number;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SignedResult extends CommandResult {
  readonly mac: string;
}

/** A viewer's credential, as the site issues it and the viewer keeps it. */
export interface ViewerCredential {
  readonly site: string;
  readonly viewer: string;
  /** 32 bytes, hex. */
  readonly keyHex: string;
}

/**
 * JSON with object keys sorted at every level: the same bytes whoever encodes it. Keys whose value
 * is undefined are left out, as JSON.stringify leaves them out: a message and its wire form (what
 * the receiver parses) have one canonical text.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const mac = (keyHex: string, value: unknown) => bytesToHex(hmac(sha256, hexToBytes(keyHex), utf8(canonicalJson(value))));

function equalHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The part of the command a PIN proof covers. */
function pinMessage(body: Omit<CommandBody, 'pin' | 'v'>): string {
  return canonicalJson({ viewer: body.viewer, seq: body.seq, at: body.at, action: body.action });
}

/** The PIN's PBKDF2 as the site stores it (PinHash.hashHex), from the digits and the public salt. */
export async function pinKey(pin: string, saltHex: string, iterations: number): Promise<string> {
  return bytesToHex(await pbkdf2Async(sha256, utf8(pin), hexToBytes(saltHex), { c: iterations, dkLen: 32 }));
}

/** A new viewer credential: the site keeps it, the viewer gets it once as a pairing code. */
export function issueViewer(site: string, random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): ViewerCredential {
  return { site, viewer: bytesToHex(random(8)), keyHex: bytesToHex(random(32)) };
}

const PAIRING_PREFIX = 'wwv1';

export function pairingCode(c: ViewerCredential): string {
  return `${PAIRING_PREFIX}:${c.site}:${c.viewer}:${c.keyHex}`;
}

export function readPairingCode(code: string): ViewerCredential {
  const [prefix, site, viewer, keyHex] = code.trim().split(':');
  // The site becomes a topic level: the same characters as topicLevel() allows.
  if (prefix !== PAIRING_PREFIX || !site || !viewer || !keyHex || !/^[A-Za-z0-9._~-]{1,64}$/.test(site) || !/^[0-9a-f]{16}$/.test(viewer) || !/^[0-9a-f]{64}$/.test(keyHex)) {
    throw new RemoteMessageError('this is not a Wattwall pairing code (wwv1:site:viewer:key)');
  }
  return { site, viewer, keyHex };
}

/** The viewer's side: signs a command; with the site's PIN salt when a PIN is entered. */
export async function signCommand(credential: ViewerCredential, seq: number, at: number, action: RemoteAction, pin?: { readonly digits: string; readonly saltHex: string; readonly iterations: number }): Promise<SignedCommand> {
  const unsigned = { viewer: credential.viewer, seq, at, action };
  const proof = pin ? bytesToHex(hmac(sha256, hexToBytes(await pinKey(pin.digits, pin.saltHex, pin.iterations)), utf8(pinMessage(unsigned)))) : null;
  const body: CommandBody = { v: COMMAND_VERSION, ...unsigned, pin: proof };
  return { ...body, mac: mac(credential.keyHex, body) };
}

export type Verdict = { readonly ok: true; readonly command: SignedCommand } | { readonly ok: false; readonly reason: 'malformed' | 'unknown-viewer' | 'bad-mac' | 'replayed' | 'out-of-time' | 'pin-required' | 'bad-pin'; readonly detail: string };

export interface VerifyContext {
  /** The credentials the site issued, by viewer id (revoked ones removed). */
  readonly viewers: ReadonlyMap<string, ViewerCredential>;
  /** The last seq accepted from each viewer. */
  readonly lastSeq: (viewer: string) => number;
  readonly now: number;
  /** The site's PIN, if it has one. */
  readonly pin: PinHash | undefined;
}

/** The site's side: checks a command from the broker, in the order that costs least first. */
export function verifyCommand(payload: unknown, ctx: VerifyContext): Verdict {
  const c = payload as Partial<SignedCommand> | null;
  if (!c || typeof c !== 'object' || c.v !== COMMAND_VERSION || typeof c.viewer !== 'string' || typeof c.seq !== 'number' || !Number.isSafeInteger(c.seq) || typeof c.at !== 'number' || typeof c.mac !== 'string' || !(c.pin === null || typeof c.pin === 'string')) {
    return { ok: false, reason: 'malformed', detail: 'not a Wattwall command' };
  }
  const a = c.action as Partial<RemoteAction> | undefined;
  if (!a || a.type !== 'relay' || typeof a.uid !== 'string' || typeof a.on !== 'boolean') return { ok: false, reason: 'malformed', detail: 'unknown action' };
  const credential = ctx.viewers.get(c.viewer);
  if (!credential) return { ok: false, reason: 'unknown-viewer', detail: `viewer ${c.viewer} is not paired with this site (or was revoked)` };
  const body: CommandBody = { v: c.v, viewer: c.viewer, seq: c.seq, at: c.at, action: { type: 'relay', uid: a.uid, on: a.on }, pin: c.pin };
  if (!equalHex(mac(credential.keyHex, body), c.mac)) return { ok: false, reason: 'bad-mac', detail: 'the command’s signature does not verify' };
  if (c.seq <= ctx.lastSeq(c.viewer)) return { ok: false, reason: 'replayed', detail: `command ${c.seq} is not newer than ${ctx.lastSeq(c.viewer)}` };
  if (Math.abs(c.at - ctx.now) > COMMAND_WINDOW_MS) return { ok: false, reason: 'out-of-time', detail: 'the command’s time is more than five minutes from the site’s clock' };
  if (ctx.pin) {
    if (c.pin === null) return { ok: false, reason: 'pin-required', detail: 'this site needs its PIN to switch a load' };
    const expected = bytesToHex(hmac(sha256, hexToBytes(ctx.pin.hashHex), utf8(pinMessage(body))));
    if (!equalHex(expected, c.pin)) return { ok: false, reason: 'bad-pin', detail: 'wrong PIN' };
  }
  return { ok: true, command: { ...body, mac: c.mac } };
}

export function signResult(credential: ViewerCredential, result: Omit<CommandResult, 'v' | 'viewer'>): SignedResult {
  const body: CommandResult = { v: COMMAND_VERSION, viewer: credential.viewer, ...result };
  return { ...body, mac: mac(credential.keyHex, body) };
}

/** The viewer checks the site's answer; undefined when it is not the site's. */
export function verifyResult(credential: ViewerCredential, payload: unknown): CommandResult | undefined {
  const r = payload as Partial<SignedResult> | null;
  if (!r || typeof r !== 'object' || typeof r.mac !== 'string' || typeof r.seq !== 'number' || typeof r.ok !== 'boolean' || typeof r.detail !== 'string') return undefined;
  const body: CommandResult = { v: r.v ?? 0, viewer: r.viewer ?? '', seq: r.seq, ok: r.ok, detail: r.detail };
  return body.viewer === credential.viewer && equalHex(mac(credential.keyHex, body), r.mac) ? body : undefined;
}
