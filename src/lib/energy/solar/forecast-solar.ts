/**
 * Forecast.Solar: a power forecast per plane, computed by the service. `result.watts` gives the
 * power at instants (hourly, plus sunrise and sunset); between them the power is taken as
 * linear (its own `watt_hours_period` is that trapezoid), and averaged over each 15-minute slot.
 * Free tier: 12 calls an hour per IP, one plane per call, today and tomorrow.
 */
import { SLOT_MS } from '../../tariff/slot';
import type { PowerSlot } from '../inputs';
import { localToUtc } from '../local-time';
import { fetchJson, type FetchLike, ForecastError, isRecord } from './fetch';
import { type PanelArray, type SolarSite, validateSite } from './pv-model';

export function forecastSolarUrl(site: SolarSite, array: PanelArray, apiKey?: string, base = 'https://api.forecast.solar'): string {
  validateSite(site);
  const key = apiKey ? `${encodeURIComponent(apiKey)}/` : '';
  const path = [site.latitude.toFixed(4), site.longitude.toFixed(4), array.tiltDeg.toFixed(0), array.azimuthDeg.toFixed(0), array.kwp.toFixed(3)].join('/');
  return `${base}/${key}estimate/${path}?time=utc`;
}

function explain(status: number, body: unknown): ForecastError | undefined {
  if (!isRecord(body) || !isRecord(body.message)) return undefined;
  const m = body.message;
  const text = typeof m.text === 'string' && m.text !== '' ? m.text : `HTTP ${status}`;
  if (status === 429 || m.code === 429) {
    const retry = isRecord(m.ratelimit) && typeof m.ratelimit['retry-at'] === 'string' ? Date.parse(m.ratelimit['retry-at']) : NaN;
    return new ForecastError('rate-limit', `Forecast.Solar: ${text}`, Number.isFinite(retry) ? retry : undefined);
  }
  return new ForecastError('api', `Forecast.Solar: ${text}`);
}

/** The longest forecast an answer may span: the paid tiers reach a week; beyond is garbage (and slots to compute). */
const MAX_SPAN_MS = 14 * 86_400_000;
/** W: a plane of a home or a building, with room to spare; more is a broken answer. */
const MAX_PLANE_W = 10_000_000;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?$/;

/** Timestamps: ISO with an offset (time=utc or time=iso8601), or local "YYYY-MM-DD HH:MM:SS" in the answer's time zone. */
function instant(key: string, timeZone: string | undefined): number {
  if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(key)) {
    const ms = Date.parse(key);
    if (Number.isFinite(ms)) return ms;
  } else if (timeZone && LOCAL_TIME.test(key)) {
    let ms = Number.NaN;
    try {
      ms = localToUtc(key, timeZone);
    } catch {
      throw new ForecastError('malformed', `Forecast.Solar: the time zone ${timeZone} is not one this browser knows`);
    }
    if (Number.isFinite(ms)) return ms;
  }
  throw new ForecastError('malformed', `Forecast.Solar: cannot read the time ${key}`);
}

/** One plane's power per 15-minute slot, W. */
export function parseForecastSolar(body: unknown): PowerSlot[] {
  if (!isRecord(body)) throw new ForecastError('malformed', 'Forecast.Solar: the answer is not an object');
  const message = isRecord(body.message) ? body.message : undefined;
  if (message && message.type === 'error') throw explain(typeof message.code === 'number' ? message.code : 400, body) ?? new ForecastError('api', 'Forecast.Solar error');
  if (!isRecord(body.result) || !isRecord(body.result.watts)) throw new ForecastError('malformed', 'Forecast.Solar: the answer has no result.watts');
  const info = message && isRecord(message.info) ? message.info : undefined;
  const timeZone = info && typeof info.timezone === 'string' ? info.timezone : undefined;
  const points: { t: number; w: number }[] = [];
  for (const [key, value] of Object.entries(body.result.watts)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_PLANE_W) throw new ForecastError('malformed', `Forecast.Solar: the power at ${key} is not a number of watts (0..${MAX_PLANE_W})`);
    points.push({ t: instant(key, timeZone), w: value });
  }
  points.sort((a, b) => a.t - b.t);
  if (points.length < 2) return [];
  const first = points[0]?.t ?? 0;
  const last = points.at(-1)?.t ?? 0;
  if (last - first > MAX_SPAN_MS) throw new ForecastError('malformed', `Forecast.Solar: the answer spans ${Math.round((last - first) / 86_400_000)} days, more than a forecast does`);
  // Integral of the piecewise-linear power from the first point to x, Wh·(ms/h) units kept in W·ms.
  const integral = (x: number): number => {
    let sum = 0;
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1] as { t: number; w: number };
      const b = points[i] as { t: number; w: number };
      if (x <= a.t) break;
      const to = Math.min(x, b.t);
      const wTo = a.w + ((b.w - a.w) * (to - a.t)) / (b.t - a.t || 1);
      sum += ((a.w + wTo) / 2) * (to - a.t);
    }
    return sum;
  };
  const out: PowerSlot[] = [];
  for (let s = Math.ceil(first / SLOT_MS) * SLOT_MS; s + SLOT_MS <= last; s += SLOT_MS) {
    out.push({ start: s, end: s + SLOT_MS, watts: (integral(s + SLOT_MS) - integral(s)) / SLOT_MS });
  }
  return out;
}

/** All the site's planes (one call each), summed slot by slot over the slots every plane covers. */
export async function fetchForecastSolar(fetchFn: FetchLike, site: SolarSite, apiKey?: string, signal?: AbortSignal): Promise<PowerSlot[]> {
  const perPlane: PowerSlot[][] = [];
  for (const array of site.arrays) perPlane.push(parseForecastSolar(await fetchJson(fetchFn, forecastSolarUrl(site, array, apiKey), explain, signal)));
  const sums = new Map<number, { watts: number; planes: number }>();
  for (const plane of perPlane) for (const s of plane) sums.set(s.start, { watts: (sums.get(s.start)?.watts ?? 0) + s.watts, planes: (sums.get(s.start)?.planes ?? 0) + 1 });
  const cap = site.inverterW ?? Infinity;
  return [...sums]
    .filter(([, v]) => v.planes === perPlane.length)
    .sort((a, b) => a[0] - b[0])
    .map(([start, v]) => ({ start, end: start + SLOT_MS, watts: Math.min(cap, v.watts) }));
}
