/**
 * Open-Meteo: irradiance from the weather model, turned into power here with the site's own
 * panels (pv-model.ts). We ask for GHI, DNI and DHI at 15-minute resolution in UTC unix time;
 * each value is the mean over the 15 minutes *before* its timestamp, so slot [t − 15 min, t)
 * takes it, with the sun where it stood at the slot's middle. No key, CORS allowed.
 */
import { SLOT_MS } from '../../tariff/slot';
import type { PowerSlot } from '../inputs';
import { fetchJson, type FetchLike, ForecastError, isRecord } from './fetch';
import { sunPosition } from './position';
import { pvPowerW, type SolarSite, validateSite } from './pv-model';

/** Times outside 2000–2100 are garbage, not a forecast. */
const MIN_INSTANT = Date.UTC(2000, 0, 1);
const MAX_INSTANT = Date.UTC(2100, 0, 1);
/** W/m²: the solar constant is 1361; nothing on the ground is above it (some margin for rounding). */
const MAX_IRRADIANCE = 1500;
/** °C: beyond the records of air temperature on Earth. */
const MIN_AIR_C = -95;
const MAX_AIR_C = 65;
const VARIABLES = ['shortwave_radiation', 'direct_normal_irradiance', 'diffuse_radiation', 'temperature_2m'] as const;

export function openMeteoUrl(site: SolarSite, forecastDays = 3, base = 'https://api.open-meteo.com/v1/forecast'): string {
  validateSite(site);
  const q = new URLSearchParams({
    latitude: site.latitude.toFixed(4),
    longitude: site.longitude.toFixed(4),
    minutely_15: VARIABLES.join(','),
    timeformat: 'unixtime',
    timezone: 'GMT',
    forecast_days: String(forecastDays),
  });
  return `${base}?${q.toString()}`;
}

function explain(status: number, body: unknown): ForecastError | undefined {
  if (isRecord(body) && body.error === true) return new ForecastError(status === 429 ? 'rate-limit' : 'api', `Open-Meteo: ${typeof body.reason === 'string' ? body.reason : `HTTP ${status}`}`);
  return undefined;
}

/** The site's expected AC power per 15-minute slot from an Open-Meteo answer. */
export function parseOpenMeteo(body: unknown, site: SolarSite): PowerSlot[] {
  if (isRecord(body) && body.error === true) throw explain(400, body) ?? new ForecastError('api', 'Open-Meteo error');
  if (!isRecord(body) || !isRecord(body.minutely_15)) throw new ForecastError('malformed', 'Open-Meteo: the answer has no minutely_15 block');
  const block = body.minutely_15;
  const time = block.time;
  if (!Array.isArray(time) || time.some((t) => typeof t !== 'number')) throw new ForecastError('malformed', 'Open-Meteo: minutely_15.time is not a list of unix times (ask for timeformat=unixtime)');
  const series: Record<string, unknown[]> = {};
  for (const v of VARIABLES) {
    const s = block[v];
    if (!Array.isArray(s) || s.length !== time.length) throw new ForecastError('malformed', `Open-Meteo: minutely_15.${v} is missing or not as long as the times`);
    series[v] = s;
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const out: PowerSlot[] = [];
  let previous = -Infinity;
  for (let i = 0; i < time.length; i++) {
    const end = (time[i] as number) * 1000;
    if (!Number.isSafeInteger(end) || end < MIN_INSTANT || end > MAX_INSTANT || end % SLOT_MS !== 0) throw new ForecastError('malformed', `Open-Meteo: time ${String(time[i])} is not on the 15-minute grid`);
    if (!(end > previous)) throw new ForecastError('malformed', `Open-Meteo: the times are not in increasing order at ${String(time[i])}`);
    previous = end;
    const ghi = num(series.shortwave_radiation?.[i]);
    const dni = num(series.direct_normal_irradiance?.[i]);
    const dhi = num(series.diffuse_radiation?.[i]);
    if (ghi === undefined || dni === undefined || dhi === undefined) continue; // a gap: no figure rather than a wrong one
    const airC = num(series.temperature_2m?.[i]);
    // Beyond what the sky and the air can do: a broken answer, not a forecast (the PV model
    // would turn 1e308 °C into an infinite or negative power).
    if (ghi < 0 || dni < 0 || dhi < 0 || ghi > MAX_IRRADIANCE || dni > MAX_IRRADIANCE || dhi > MAX_IRRADIANCE) throw new ForecastError('malformed', `Open-Meteo: the irradiance at ${String(time[i])} is outside 0..${MAX_IRRADIANCE} W/m²`);
    if (airC !== undefined && (airC < MIN_AIR_C || airC > MAX_AIR_C)) throw new ForecastError('malformed', `Open-Meteo: the temperature at ${String(time[i])} is outside ${MIN_AIR_C}..${MAX_AIR_C} °C`);
    const sun = sunPosition(end - SLOT_MS / 2, site.latitude, site.longitude);
    out.push({ start: end - SLOT_MS, end, watts: pvPowerW(site, sun, airC === undefined ? { ghi, dni, dhi } : { ghi, dni, dhi, airC }) });
  }
  return out;
}

export async function fetchOpenMeteo(fetchFn: FetchLike, site: SolarSite, signal?: AbortSignal): Promise<PowerSlot[]> {
  return parseOpenMeteo(await fetchJson(fetchFn, openMeteoUrl(site), explain, signal), site);
}
