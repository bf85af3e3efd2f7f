/**
 * History over the broker: a paired viewer asks the site's aggregator for what its own screens
 * would read from IndexedDB (series, slot energy, events, spot prices), and gets it back as JSON. Requests are
 * signed with the viewer's key, so only paired viewers can read a site's history through the
 * broker; answers are matched by id.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Series } from '../store/queries';
import type { EventRow, Resolution, RollupQuantity } from '../store/schema';
import { canonicalJson, type ViewerCredential } from './command-auth';
import { RemoteMessageError } from './protocol';

export type RpcCall =
  | { readonly method: 'series'; readonly params: { readonly uid: string; readonly quantity: RollupQuantity; readonly from: number; readonly to: number; readonly resolution?: Resolution } }
  | { readonly method: 'slots'; readonly params: { readonly uids: readonly string[]; readonly from: number; readonly to: number } }
  | { readonly method: 'events'; readonly params: { readonly from: number; readonly to: number; readonly uid?: string } }
  /** The spot prices the site holds for `[from, to)`: a viewer bills with the site's own prices. */
  | { readonly method: 'prices'; readonly params: { readonly from: number; readonly to: number } };

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
  const p = c.params as unknown as Record<string, unknown>;
  const num = (k: string) => typeof p[k] === 'number' && Number.isFinite(p[k]);
  if (!p || !num('from') || !num('to')) throw new RemoteMessageError('a history request needs from and to');
  if (c.method === 'series' && (typeof p.uid !== 'string' || typeof p.quantity !== 'string')) throw new RemoteMessageError('a series request needs uid and quantity');
  if (c.method === 'slots' && !Array.isArray(p.uids)) throw new RemoteMessageError('a slots request needs uids');
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
