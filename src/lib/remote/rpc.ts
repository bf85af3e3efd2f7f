/**
 * History over the broker: a paired viewer asks the site's aggregator for what its own screens
 * would read from IndexedDB (series, slot energy, events, spot prices), and gets it back as JSON. Requests are
 * signed with the viewer's key, so only paired viewers can read a site's history through the
 * broker; answers are matched by id.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Series, SlotEnergy } from '../store/queries';
import { type EventRow, type Resolution, RESOLUTIONS, ROLLUP_QUANTITIES, type RollupQuantity } from '../store/schema';
import { type PriceSlot, SLOT_MS } from '../tariff/slot';
import { canonicalJson, type ViewerCredential } from './command-auth';
import { isSlotEnergy, RemoteMessageError } from './protocol';

export type RpcCall =
  | { readonly method: 'series'; readonly params: { readonly uid: string; readonly quantity: RollupQuantity; readonly from: number; readonly to: number; readonly resolution?: Resolution } }
  | { readonly method: 'slots'; readonly params: { readonly uids: readonly string[]; readonly from: number; readonly to: number } }
  | { readonly method: 'events'; readonly params: { readonly from: number; readonly to: number; readonly uid?: string } }
  /** The spot prices the site holds for `[from, to)`: a viewer bills with the site's own prices. */
  | { readonly method: 'prices'; readonly params: { readonly from: number; readonly to: number } };

/** More meters than any site has: a request for more is refused rather than read. */
export const MAX_RPC_UIDS = 256;

export interface RpcRequest {
  readonly id: string;
  readonly viewer: string;
  readonly call: RpcCall;
  readonly mac: string;
}

export type RpcResponse = { readonly id: string; readonly ok: true; readonly result: unknown } | { readonly id: string; readonly ok: false; readonly error: string };

/** An answer as it travels: signed with the viewer's key, so nobody else on the broker can answer for the site. */
export type SignedRpcResponse = RpcResponse & { readonly mac: string };

/** Series as JSON: plain arrays. */
export interface SeriesJson {
  readonly uid: string;
  readonly quantity: RollupQuantity;
  readonly resolution: Resolution;
  readonly t: readonly number[];
  readonly mean: readonly number[];
  readonly min: readonly number[];
  readonly max: readonly number[];
}

export function seriesToJson(s: Series): SeriesJson {
  return { uid: s.uid, quantity: s.quantity, resolution: s.resolution, t: Array.from(s.t), mean: Array.from(s.mean), min: Array.from(s.min), max: Array.from(s.max) };
}

export function seriesFromJson(j: SeriesJson): Series {
  return { uid: j.uid, quantity: j.quantity, resolution: j.resolution, t: Float64Array.from(j.t), mean: Float32Array.from(j.mean), min: Float32Array.from(j.min), max: Float32Array.from(j.max) };
}

// Answers are signed by the site, but their shapes are still checked: a site of another version,
// or a bug, must give the viewer a clear error, not a TypeError deep in a chart.
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.every(isFiniteNumber);

/** A series answer, checked: four arrays of numbers of one length, a known quantity and resolution. */
export function readSeriesJson(value: unknown): SeriesJson {
  if (!isRecord(value) || typeof value.uid !== 'string') throw new RemoteMessageError('the series answer is not a series');
  if (!(ROLLUP_QUANTITIES as readonly unknown[]).includes(value.quantity) || !(RESOLUTIONS as readonly unknown[]).includes(value.resolution)) throw new RemoteMessageError('the series answer has an unknown quantity or resolution');
  const { t, mean, min, max } = value;
  if (!numbers(t) || !numbers(mean) || !numbers(min) || !numbers(max) || mean.length !== t.length || min.length !== t.length || max.length !== t.length) throw new RemoteMessageError('the series answer’s columns are not numbers of one length');
  return value as unknown as SeriesJson;
}

/** A slots answer, checked as a slot message is (on the grid, energy not negative), and only its fields kept. */
export function readSlotsJson(value: unknown): SlotEnergy[] {
  if (!Array.isArray(value) || !value.every((s) => isRecord(s) && typeof s.meterId === 'string' && isSlotEnergy(s.start, s.importMwh, s.exportMwh))) {
    throw new RemoteMessageError('the slots answer is not a list of slots on the 15-minute grid with valid energy');
  }
  return (value as SlotEnergy[]).map(({ meterId, start, importMwh, exportMwh }) => ({ meterId, start, importMwh, exportMwh }));
}

/** An events answer, checked. */
export function readEventsJson(value: unknown): EventRow[] {
  const kinds: readonly unknown[] = ['dip', 'swell', 'interruption'];
  if (!Array.isArray(value) || !value.every((e) => isRecord(e) && typeof e.uid === 'string' && isFiniteNumber(e.seq) && kinds.includes(e.kind) && isFiniteNumber(e.start) && isFiniteNumber(e.durationMs) && isFiniteNumber(e.extremeV))) throw new RemoteMessageError('the events answer is not a list of events');
  return value as EventRow[];
}

/** A prices answer, checked: 15-minute slots with a finite price. */
export function readPricesJson(value: unknown): PriceSlot[] {
  if (!Array.isArray(value) || !value.every((s) => isRecord(s) && isFiniteNumber(s.start) && s.start % SLOT_MS === 0 && s.end === s.start + SLOT_MS && isFiniteNumber(s.price))) throw new RemoteMessageError('the prices answer is not a list of 15-minute prices');
  return value as PriceSlot[];
}

const macOf = (keyHex: string, id: string, viewer: string, call: RpcCall) => bytesToHex(hmac(sha256, hexToBytes(keyHex), new TextEncoder().encode(canonicalJson({ id, viewer, call }))));

export function signRequest(credential: ViewerCredential, id: string, call: RpcCall): RpcRequest {
  return { id, viewer: credential.viewer, call, mac: macOf(credential.keyHex, id, credential.viewer, call) };
}

/** The site's side: a request from a paired viewer, checked; throws RemoteMessageError otherwise. */
export function verifyRequest(payload: unknown, viewers: ReadonlyMap<string, ViewerCredential>): RpcRequest {
  const r = payload as Partial<RpcRequest> | null;
  if (!r || typeof r !== 'object' || typeof r.id !== 'string' || typeof r.viewer !== 'string' || typeof r.mac !== 'string' || !r.call || typeof r.call !== 'object') throw new RemoteMessageError('not a history request');
  const credential = viewers.get(r.viewer);
  if (!credential) throw new RemoteMessageError(`viewer ${r.viewer} is not paired with this site`);
  if (macOf(credential.keyHex, r.id, r.viewer, r.call as RpcCall) !== r.mac) throw new RemoteMessageError('the request’s signature does not verify');
  const c = r.call as RpcCall;
  const p = c.params as unknown;
  if (!isRecord(p) || !isFiniteNumber(p.from) || !isFiniteNumber(p.to)) throw new RemoteMessageError('a history request needs from and to');
  if (c.method === 'series' && (typeof p.uid !== 'string' || !(ROLLUP_QUANTITIES as readonly unknown[]).includes(p.quantity) || !(p.resolution === undefined || (RESOLUTIONS as readonly unknown[]).includes(p.resolution)))) throw new RemoteMessageError('a series request needs a uid, a known quantity and, if any, a known resolution');
  if (c.method === 'slots' && !(Array.isArray(p.uids) && p.uids.length <= MAX_RPC_UIDS && p.uids.every((u) => typeof u === 'string'))) throw new RemoteMessageError(`a slots request needs uids (at most ${MAX_RPC_UIDS})`);
  if (c.method === 'events' && !(p.uid === undefined || typeof p.uid === 'string')) throw new RemoteMessageError('an events request’s uid must be a string');
  if (c.method !== 'series' && c.method !== 'slots' && c.method !== 'events' && c.method !== 'prices') throw new RemoteMessageError(`unknown method ${String((c as { method?: unknown }).method)}`);
  return r as RpcRequest;
}

const responseMac = (keyHex: string, r: RpcResponse) => bytesToHex(hmac(sha256, hexToBytes(keyHex), new TextEncoder().encode(canonicalJson({ answer: r }))));

export function signResponse(credential: ViewerCredential, response: RpcResponse): SignedRpcResponse {
  return { ...response, mac: responseMac(credential.keyHex, response) };
}

/** The viewer's side: the site's answer, checked; undefined when it is not the site's (forged, or not an answer). */
export function verifyResponse(credential: ViewerCredential, payload: unknown): RpcResponse | undefined {
  const r = payload as Partial<SignedRpcResponse> | null;
  if (!r || typeof r !== 'object' || typeof r.id !== 'string' || typeof r.mac !== 'string' || typeof r.ok !== 'boolean') return undefined;
  const { mac, ...rest } = r as SignedRpcResponse;
  const response = rest as RpcResponse;
  if (response.ok === false && typeof response.error !== 'string') return undefined;
  return responseMac(credential.keyHex, response) === mac ? response : undefined;
}

export type { EventRow };
