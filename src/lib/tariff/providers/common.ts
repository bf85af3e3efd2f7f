/**
 * What every price adapter shares: the injected fetch with failures told apart (offline, CORS,
 * HTTP, rate limit), unit and timestamp conversion, and the one normalisation that turns a
 * provider's intervals into checked 15-minute slots.
 */
import { hostOf } from '../../format/url';
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { instantsOfWallTime, isValidTimeZone } from '../zone';

/** The subset of `fetch` the adapters use; injected, so tests never touch the network. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** A price as a provider states it: an interval of any multiple of 15 minutes. */
export interface IntervalPrice {
  readonly start: number;
  readonly end: number;
  /** Currency per kWh. */
  readonly price: number;
}

/** Units prices come in, and the factor to currency per kWh. */
export const PRICE_UNITS = {
  'currency/MWh': 1 / 1000,
  'currency/kWh': 1,
  'cent/kWh': 1 / 100,
} as const;
export type PriceUnit = keyof typeof PRICE_UNITS;

/** A price in `unit` as currency per kWh (not yet quantised: `toSlots` does that). */
export function toPerKwh(value: number, unit: PriceUnit): number {
  return value * PRICE_UNITS[unit];
}

/**
 * A price taken to 1e-9 currency per kWh, the precision billing works in: 112.45 EUR/MWh reads
 * 0.11245 EUR/kWh, not 0.11245000000000001.
 */
export function quantisePrice(perKwh: number): number {
  return Math.round(perKwh * 1e9) / 1e9;
}

/** Above this magnitude a price is a unit mistake, not a market price (EU harmonised caps are 4 EUR/kWh and −0.5 EUR/kWh). */
export const MAX_PLAUSIBLE_PRICE = 100;
/** The longest interval a provider may quote one price for. */
const MAX_INTERVAL_MS = 24 * 3_600_000;
/** Instants outside 2000–2100 are garbage, not prices. */
const MIN_INSTANT = Date.UTC(2000, 0, 1);
const MAX_INSTANT = Date.UTC(2100, 0, 1);

/**
 * Checks a provider's intervals and spreads each over the 15-minute grid (an hourly price becomes
 * four slots). Throws `malformed` on anything that cannot be a price: a start off the grid, an
 * interval that is empty, too long or overlaps another with a different price, a price that is
 * not a finite, plausible number. Slots outside `[from, to)` are dropped, duplicates merged.
 */
export function toSlots(provider: string, intervals: readonly IntervalPrice[], from = -Infinity, to = Infinity): PriceSlot[] {
  const byStart = new Map<number, number>();
  for (const interval of intervals) {
    const { start, end, price } = interval;
    const when = Number.isFinite(start) && start >= MIN_INSTANT && start < MAX_INSTANT ? new Date(start).toISOString() : String(start);
    if (!Number.isInteger(start) || start < MIN_INSTANT || start >= MAX_INSTANT) throw malformed(provider, `a price starts at an impossible time (${when})`);
    if (!Number.isInteger(end) || end <= start || end - start > MAX_INTERVAL_MS) throw malformed(provider, `the price from ${when} has no valid end`);
    if (start % SLOT_MS !== 0 || (end - start) % SLOT_MS !== 0) throw malformed(provider, `the price from ${when} is not on the 15-minute grid`);
    if (typeof price !== 'number' || !Number.isFinite(price)) throw malformed(provider, `the price from ${when} is not a number`);
    if (Math.abs(price) > MAX_PLAUSIBLE_PRICE) throw malformed(provider, `the price from ${when} (${price} per kWh) is implausible; check the unit`);
    const quantised = quantisePrice(price);
    for (let t = start; t < end; t += SLOT_MS) {
      if (t < from || t >= to) continue;
      const known = byStart.get(t);
      if (known !== undefined && known !== quantised) throw malformed(provider, `two different prices for ${new Date(t).toISOString()}`);
      byStart.set(t, quantised);
    }
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([start, price]) => ({ start, end: start + SLOT_MS, price }));
}

export function malformed(provider: string, what: string): PriceError {
  return new PriceError('malformed', `${provider} sent an answer that cannot be read: ${what}. Nothing from it was stored.`);
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const ISO_LOCAL = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?$/;

/** An ISO 8601 instant with `Z` or an offset, as ms; undefined when it is anything else. */
export function parseIsoInstant(text: unknown): number | undefined {
  if (typeof text !== 'string' || !ISO_WITH_OFFSET.test(text.trim())) return undefined;
  const normalised = text.trim().replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalised);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * An instant from what files and APIs use: epoch ms or epoch seconds (a number or a string of
 * digits; below 1e11 it is seconds, which covers every date up to 5138), ISO 8601 with an offset,
 * or a local wall time `YYYY-MM-DD HH:MM` read in `timeZone`. A local time repeated when the clocks
 * go back is taken as the first occurrence unless that is not after `after` (the previous row),
 * so a file listing the repeated hour twice, in order, reads right. Undefined when unreadable.
 */
export function parseInstant(value: unknown, timeZone?: string, after?: number): number | undefined {
  if (typeof value === 'number') return epoch(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return epoch(Number(text));
  const iso = parseIsoInstant(text);
  if (iso !== undefined) return iso;
  const local = ISO_LOCAL.exec(text);
  if (!local || timeZone === undefined || !isValidTimeZone(timeZone)) return undefined;
  if (local[4] !== undefined && Number(local[4]) !== 0) return undefined;
  const date = local[1] ?? '';
  const hour = Number(local[2]);
  const minute = Number(local[3]);
  if (hour > 23 || minute > 59) return undefined;
  let instants: number[];
  try {
    instants = instantsOfWallTime(date, hour, minute, timeZone);
  } catch {
    return undefined;
  }
  if (after !== undefined) return instants.find((t) => t > after) ?? instants[0];
  return instants[0];
}

function epoch(n: number): number | undefined {
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n;
  return Number.isInteger(ms) ? ms : undefined;
}

export interface RequestOptions {
  /** Provider name for messages, e.g. "ENTSO-E". */
  readonly provider: string;
  readonly signal?: AbortSignal;
  /** Advice appended to a CORS refusal, e.g. how to set a proxy. */
  readonly corsAdvice?: string;
  /** Whether the platform says it is offline (navigator.onLine === false); skips the CORS probe. */
  readonly offline?: boolean;
  /** HTTP error statuses whose body the adapter reads itself (GraphQL errors come with 400). */
  readonly passStatus?: (status: number) => boolean;
  /** A server whose answer has not begun after this long is given up on (default 30 s), ms. */
  readonly timeoutMs?: number;
}

/** Browsers never give up on a server that accepts the connection and stays silent; we do. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Fetches and classifies failure. A browser reports a CORS refusal and an unreachable server
 * alike, as a TypeError; a second, opaque `no-cors` request to the server's origin (it carries no
 * token and its answer stays unreadable) tells them apart: it succeeds only if the server answered.
 */
export async function request(fetch: FetchLike, url: string, init: RequestInit, options: RequestOptions): Promise<Response> {
  const { provider } = options;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  // The caller's signal, or our own timer: whichever comes first cancels the request (and its body).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const cancel = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', cancel, { once: true });
  const signal = controller.signal;
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal });
  } catch (error) {
    clearTimeout(timer);
    if (timedOut) throw new PriceError('network', `${provider} did not answer within ${timeoutMs / 1000} s.`);
    if (signal.aborted) throw new PriceError('aborted', `${provider}: request cancelled`);
    if (!options.offline && (await answersOpaquely(fetch, url, signal))) {
      throw new PriceError(
        'cors',
        `The browser refused ${provider}'s answer: ${hostOf(url)} does not allow calls from web pages (CORS).${options.corsAdvice ? ' ' + options.corsAdvice : ''}`,
      );
    }
    const reason = error instanceof Error && error.message ? ` (${error.message})` : '';
    throw new PriceError('network', `${provider} cannot be reached${options.offline ? ': this device is offline' : reason}.`);
  }
  clearTimeout(timer);
  if (response.ok || options.passStatus?.(response.status)) return response;
  const status = response.status;
  const body = await safeText(response);
  const detail = summarise(body);
  if (status === 401 || status === 403) throw new PriceError('auth', `${provider} refused the token (HTTP ${status})${detail}. Check the token in the settings.`, { status });
  if (status === 429) {
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    throw new PriceError('rate-limit', `${provider} asks to slow down (HTTP 429)${detail}.`, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  throw new PriceError('http', `${provider} answered HTTP ${status}${response.statusText ? ' ' + response.statusText : ''}${detail}.`, { status });
}

async function answersOpaquely(fetch: FetchLike, url: string, signal: AbortSignal | undefined): Promise<boolean> {
  let origin: string;
  try {
    origin = new URL(url).origin + '/';
  } catch {
    return false;
  }
  try {
    const probe = await fetch(origin, { mode: 'no-cors', credentials: 'omit', cache: 'no-store', ...(signal ? { signal } : {}) });
    return probe.type === 'opaque' || probe.status > 0;
  } catch {
    return false;
  }
}

/** Reads a body as text, a failure mid-body being a network error. */
export async function readText(response: Response, provider: string): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new PriceError('network', `${provider}: the answer broke off (${error instanceof Error ? error.message : String(error)}).`);
  }
}

async function safeText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/** A short, single-line excerpt of an error body for a message. */
function summarise(body: string): string {
  let text = body;
  try {
    const json: unknown = JSON.parse(body);
    if (json && typeof json === 'object') {
      const record = json as Record<string, unknown>;
      const candidate = record.detail ?? record.message ?? record.error ?? record.title;
      if (typeof candidate === 'string') text = candidate;
    }
  } catch {
    const reason = /<text>([^<]*)<\/text>/.exec(body);
    if (reason?.[1]) text = reason[1];
    else text = body.replace(/<[^>]*>/g, ' ');
  }
  text = text.replace(/\s+/g, ' ').trim();
  if (!text) return '';
  return `: ${text.length > 160 ? text.slice(0, 157) + '...' : text}`;
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** Parses JSON, or throws `malformed`. */
export function parseJson(text: string, provider: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(provider, text.trim() === '' ? 'the body is empty' : 'the body is not JSON');
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A finite number from a JSON number (or, leniently, a numeric string), else undefined. */
export function finiteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}
