import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../../tariff/slot';
import forecastSolarLocal from './fixtures/forecast-solar-local.json';
import forecastSolarLimit from './fixtures/forecast-solar-ratelimit.json';
import forecastSolarUtc from './fixtures/forecast-solar-utc.json';
import openMeteoError from './fixtures/open-meteo-error.json';
import openMeteoTurin from './fixtures/open-meteo-turin.json';
import { ForecastCache } from './cache';
import { type FetchLike, ForecastError } from './fetch';
import { fetchForecastSolar, forecastSolarUrl, parseForecastSolar } from './forecast-solar';
import { openMeteoUrl, parseOpenMeteo } from './open-meteo';
import { sunPosition } from './position';
import { planeOfArray, pvPowerW, type SolarSite } from './pv-model';
import { SolarForecastService } from './service';

const turin: SolarSite = { latitude: 45.07, longitude: 7.69, arrays: [{ kwp: 4, tiltDeg: 30, azimuthDeg: 0 }] };
const DAY0 = Date.UTC(2026, 5, 10);

describe('sun position', () => {
  it('stands highest at the latitude minus the declination, due south, on the June solstice', () => {
    let best = { zenithDeg: 180, azimuthDeg: 0, at: 0 };
    for (let m = 0; m < 1440; m++) {
      const p = sunPosition(Date.UTC(2026, 5, 21) + m * 60_000, 41.9, 12.5);
      if (p.zenithDeg < best.zenithDeg) best = { ...p, at: m };
    }
    expect(best.zenithDeg).toBeCloseTo(41.9 - 23.44, 0);
    expect(best.azimuthDeg).toBeGreaterThan(178);
    expect(best.azimuthDeg).toBeLessThan(182);
    // local solar noon at 12.5° E is about 50 minutes before 12:00 UTC (the equation of time adds ~2)
    expect(best.at).toBeGreaterThanOrEqual(11 * 60 + 8);
    expect(best.at).toBeLessThanOrEqual(11 * 60 + 13);
  });

  it('rises in the east at the equinox, stands north at noon south of the equator, is nearer in January', () => {
    // 2026-03-20, equator, 06:07 UTC at 0° E: about sunrise
    const rise = sunPosition(Date.UTC(2026, 2, 20, 6, 7), 0, 0);
    expect(rise.zenithDeg).toBeCloseTo(90, 0);
    expect(rise.azimuthDeg).toBeCloseTo(90, 0);
    const sydneyNoon = sunPosition(Date.UTC(2026, 0, 15, 2, 0), -33.87, 151.2);
    expect(Math.min(sydneyNoon.azimuthDeg, 360 - sydneyNoon.azimuthDeg)).toBeLessThan(30);
    expect(sunPosition(Date.UTC(2026, 0, 3), 0, 0).extraterrestrialW).toBeGreaterThan(sunPosition(Date.UTC(2026, 6, 4), 0, 0).extraterrestrialW + 80);
  });
});

describe('irradiance to power', () => {
  const sun = { zenithDeg: 30, azimuthDeg: 180, extraterrestrialW: 1361 };
  const irr = { ghi: 900, dni: 800, dhi: 207 };

  it('transposes to a plane facing the sun with Hay–Davies', () => {
    const p = planeOfArray(sun, { kwp: 1, tiltDeg: 30, azimuthDeg: 0 }, irr);
    const a = 800 / 1361;
    expect(p.aoiDeg).toBeCloseTo(0, 6);
    expect(p.beam).toBeCloseTo(800);
    expect(p.circumsolar).toBeCloseTo(207 * a / Math.cos(Math.PI / 6));
    expect(p.isotropic).toBeCloseTo(207 * (1 - a) * (1 + Math.cos(Math.PI / 6)) / 2);
    expect(p.ground).toBeCloseTo(900 * 0.2 * (1 - Math.cos(Math.PI / 6)) / 2);
    expect(p.effective).toBeCloseTo(p.beam + p.circumsolar + p.isotropic + p.ground);
  });

  it('gives a flat panel about the global irradiance, less for a slant beam, nothing at night', () => {
    const flat = planeOfArray(sun, { kwp: 1, tiltDeg: 0, azimuthDeg: 0 }, irr);
    expect(flat.beam + flat.circumsolar + flat.isotropic).toBeCloseTo(800 * Math.cos(Math.PI / 6) + 207);
    const east = planeOfArray({ zenithDeg: 60, azimuthDeg: 100, extraterrestrialW: 1361 }, { kwp: 1, tiltDeg: 30, azimuthDeg: -90 }, irr);
    const west = planeOfArray({ zenithDeg: 60, azimuthDeg: 100, extraterrestrialW: 1361 }, { kwp: 1, tiltDeg: 30, azimuthDeg: 90 }, irr);
    expect(east.effective).toBeGreaterThan(west.effective * 2);
    expect(planeOfArray({ zenithDeg: 100, azimuthDeg: 0, extraterrestrialW: 1361 }, { kwp: 1, tiltDeg: 30, azimuthDeg: 0 }, { ghi: 0, dni: 0, dhi: 0 }).effective).toBe(0);
  });

  it('derates for heat and losses and stops at the inverter', () => {
    const oneSun = { zenithDeg: 0, azimuthDeg: 180, extraterrestrialW: 1361 };
    const site: SolarSite = { latitude: 0, longitude: 0, arrays: [{ kwp: 1, tiltDeg: 0, azimuthDeg: 0 }] };
    // 1000 W/m² on the cells at 25 °C: 1 kWp × system factor
    expect(pvPowerW(site, oneSun, { ghi: 1000, dni: 1000, dhi: 0, airC: 25 - 34.2 })).toBeCloseTo(860, 6);
    expect(pvPowerW(site, oneSun, { ghi: 1000, dni: 1000, dhi: 0, airC: 35 })).toBeLessThan(800);
    expect(pvPowerW({ ...site, inverterW: 500 }, oneSun, { ghi: 1000, dni: 1000, dhi: 0 })).toBe(500);
  });
});

describe('Open-Meteo', () => {
  it('asks for the irradiance components at 15 minutes in unix time', () => {
    const url = new URL(openMeteoUrl(turin));
    expect(url.host).toBe('api.open-meteo.com');
    expect(url.searchParams.get('minutely_15')).toBe('shortwave_radiation,direct_normal_irradiance,diffuse_radiation,temperature_2m');
    expect(url.searchParams.get('timeformat')).toBe('unixtime');
    expect(() => openMeteoUrl({ ...turin, arrays: [] })).toThrow(/no panel arrays/);
  });

  it('turns a day of irradiance into power per slot, each value on the slot before its time', () => {
    const slots = parseOpenMeteo(openMeteoTurin, turin);
    expect(slots).toHaveLength(95); // one gap
    expect(slots[0]).toEqual({ start: DAY0, end: DAY0 + SLOT_MS, watts: 0 });
    const noon = slots.find((s) => s.start === DAY0 + 11 * 3600_000);
    expect(noon?.watts).toBeGreaterThan(2500);
    expect(noon?.watts).toBeLessThan(4 * 1000 * 0.86);
    const energyKwh = slots.reduce((e, s) => e + (s.watts * SLOT_MS) / 3.6e9, 0);
    // a clear June day in Turin: about 6–7 kWh per kWp
    expect(energyKwh / 4).toBeGreaterThan(5);
    expect(energyKwh / 4).toBeLessThan(8);
    expect(slots.some((s) => s.start === DAY0 + 50 * SLOT_MS)).toBe(false);
  });

  it('explains errors and malformed answers', () => {
    expect(() => parseOpenMeteo(openMeteoError, turin)).toThrow(/Open-Meteo: Cannot initialize WeatherVariable/);
    expect(() => parseOpenMeteo({}, turin)).toThrow(/no minutely_15 block/);
    expect(() => parseOpenMeteo({ minutely_15: { time: ['2026-06-10T00:15'] } }, turin)).toThrow(/unixtime/);
    const short = { minutely_15: { ...openMeteoTurin.minutely_15, diffuse_radiation: [1, 2] } };
    expect(() => parseOpenMeteo(short, turin)).toThrow(/diffuse_radiation is missing or not as long/);
    const offGrid = { minutely_15: { ...openMeteoTurin.minutely_15, time: openMeteoTurin.minutely_15.time.map((t) => t + 60) } };
    expect(() => parseOpenMeteo(offGrid, turin)).toThrow(/not on the 15-minute grid/);
  });
});

describe('Forecast.Solar', () => {
  it('builds the estimate URL with the API conventions', () => {
    expect(forecastSolarUrl(turin, { kwp: 4, tiltDeg: 30, azimuthDeg: -45 })).toBe('https://api.forecast.solar/estimate/45.0700/7.6900/30/-45/4.000?time=utc');
    expect(forecastSolarUrl(turin, { kwp: 4, tiltDeg: 30, azimuthDeg: 0 }, 'k3y')).toMatch(/^https:\/\/api\.forecast\.solar\/k3y\/estimate\//);
  });

  it('averages the linear power between its instants over each slot, keeping its energy', () => {
    const slots = parseForecastSolar(forecastSolarUtc);
    const first = slots[0];
    expect(first?.start).toBe(Date.UTC(2026, 5, 10, 3, 45));
    const at5 = slots.find((s) => s.start === Date.UTC(2026, 5, 10, 5, 0));
    // 640 W at 05:00 rising to 1310 W at 06:00: the first quarter averages 640 + 670/8
    expect(at5?.watts).toBeCloseTo(640 + 670 / 8, 6);
    const night = slots.find((s) => s.start === Date.UTC(2026, 5, 10, 23, 0));
    expect(night?.watts).toBe(0);
    // energy between two whole hours equals the documented trapezoid
    const wh = slots.filter((s) => s.start >= Date.UTC(2026, 5, 10, 9) && s.start < Date.UTC(2026, 5, 10, 10)).reduce((e, s) => e + s.watts / 4, 0);
    expect(wh).toBeCloseTo(forecastSolarUtc.result.watt_hours_period['2026-06-10T10:00:00+00:00'], 0);
    expect(slots.at(-1)?.end).toBeLessThanOrEqual(Date.UTC(2026, 5, 11, 5));
  });

  it('reads local timestamps in the answer\'s time zone', () => {
    const slots = parseForecastSolar(forecastSolarLocal);
    // 06:00 Rome summer time is 04:00 UTC
    expect(slots.find((s) => s.start === Date.UTC(2026, 5, 10, 4, 0))?.watts).toBeCloseTo(120 + 520 / 8, 6);
  });

  it('explains rate limits with the time to try again, and malformed answers', async () => {
    expect(() => parseForecastSolar(forecastSolarLimit)).toThrow(ForecastError);
    const fetch429: FetchLike = async () => ({ ok: false, status: 429, text: async () => JSON.stringify(forecastSolarLimit) });
    const error = await fetchForecastSolar(fetch429, turin).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForecastError);
    expect((error as ForecastError).kind).toBe('rate-limit');
    expect((error as ForecastError).retryAt).toBe(Date.UTC(2026, 5, 10, 5, 48, 53));
    expect(() => parseForecastSolar({ result: { watts: { '2026-06-10T05:00:00+00:00': 'lots' } } })).toThrow(/not a number of watts/);
    expect(() => parseForecastSolar({ result: null, message: { type: 'success' } })).toThrow(/no result.watts/);
    expect(() => parseForecastSolar({ result: { watts: { 'half past five': 3 } } })).toThrow(/cannot read the time/);
    const notJson: FetchLike = async () => ({ ok: true, status: 200, text: async () => '<html>' });
    await expect(fetchForecastSolar(notJson, turin)).rejects.toThrow(/not JSON/);
    const down: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(fetchForecastSolar(down, turin)).rejects.toThrow(/no answer from api.forecast.solar: Failed to fetch/);
  });

  it('sums the planes of a site over the slots they all cover', async () => {
    const twoPlanes: SolarSite = { ...turin, arrays: [{ kwp: 2, tiltDeg: 30, azimuthDeg: -90 }, { kwp: 2, tiltDeg: 30, azimuthDeg: 90 }], inverterW: 5000 };
    const urls: string[] = [];
    const fetchFn: FetchLike = async (url) => {
      urls.push(url);
      return { ok: true, status: 200, text: async () => JSON.stringify(forecastSolarUtc) };
    };
    const slots = await fetchForecastSolar(fetchFn, twoPlanes);
    expect(urls).toHaveLength(2);
    const one = parseForecastSolar(forecastSolarUtc);
    expect(slots.find((s) => s.start === Date.UTC(2026, 5, 10, 10))?.watts).toBe(Math.min(5000, 2 * (one.find((s) => s.start === Date.UTC(2026, 5, 10, 10))?.watts ?? 0)));
  });
});

describe('forecast service and offline cache', () => {
  const okFetch = (calls: string[]): FetchLike => async (url) => {
    calls.push(url);
    return { ok: true, status: 200, text: async () => JSON.stringify(openMeteoTurin) };
  };

  it('fetches when due, remembers in between, saves for offline use', async () => {
    const cache = await ForecastCache.open('wattwall-forecast-test-1');
    const calls: string[] = [];
    const service = new SolarForecastService({ site: turin, source: { kind: 'open-meteo' }, fetch: okFetch(calls), cache });
    const a = await service.get(DAY0);
    expect(a.fresh).toBe(true);
    await service.get(DAY0 + 5 * 60_000);
    expect(calls).toHaveLength(1);
    await service.get(DAY0 + 16 * 60_000);
    expect(calls).toHaveLength(2);
    expect((await cache.get(service.key))?.slots).toHaveLength(95);
    cache.close();
  });

  it('offline after a reload: the cached forecast, said to be old; too old: a clear error', async () => {
    const cache = await ForecastCache.open('wattwall-forecast-test-2');
    await new SolarForecastService({ site: turin, source: { kind: 'open-meteo' }, fetch: okFetch([]), cache }).get(DAY0);
    const offline: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    const later = new SolarForecastService({ site: turin, source: { kind: 'open-meteo' }, fetch: offline, cache });
    const f = await later.get(DAY0 + 3600_000);
    expect(f.fresh).toBe(false);
    expect(f.fetchedAt).toBe(DAY0);
    expect(f.error).toMatch(/no answer from api.open-meteo.com.*using the forecast of 2026-06-10T00:00:00.000Z/);
    expect(f.slots).toHaveLength(95);
    const tooLate = new SolarForecastService({ site: turin, source: { kind: 'open-meteo' }, fetch: offline, cache });
    await expect(tooLate.get(DAY0 + 25 * 3600_000)).rejects.toThrow(/no solar forecast: .*too old/);
    expect(await cache.prune(DAY0 + 1)).toBe(1);
    cache.close();
  });

  it('waits out a rate limit instead of asking again', async () => {
    let calls = 0;
    const limited: FetchLike = async () => {
      calls++;
      return { ok: false, status: 429, text: async () => JSON.stringify(forecastSolarLimit) };
    };
    const service = new SolarForecastService({ site: turin, source: { kind: 'forecast-solar' }, fetch: limited, minIntervalMs: 0 });
    await expect(service.get(Date.UTC(2026, 5, 10, 5))).rejects.toThrow(/Rate limit/);
    await expect(service.get(Date.UTC(2026, 5, 10, 5, 30))).rejects.toThrow(/rate limit/);
    expect(calls).toBe(1);
  });

  it('still returns a forecast when the storage is full, and says it was not saved', async () => {
    const full = {
      put: async () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      get: async () => undefined,
    } as unknown as ForecastCache;
    const f = await new SolarForecastService({ site: turin, source: { kind: 'open-meteo' }, fetch: okFetch([]), cache: full }).get(DAY0);
    expect(f.fresh).toBe(true);
    expect(f.slots).toHaveLength(95);
    expect(f.error).toMatch(/not saved for offline use: The quota has been exceeded/);
  });
});
