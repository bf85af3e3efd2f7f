import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { corsRefusingFetch, energyChartsBody, entsoeA44, fakeFetch, jsonResponse, textResponse, unreachableFetch } from '../testing';
import { localDayRange } from '../zone';
import { awattarProvider, awattarUrl, parseAwattar } from './awattar';
import { parseInstant, request, toSlots } from './common';
import { energyChartsProvider, energyChartsUrl, parseEnergyCharts } from './energy-charts';
import { ENTSOE_ZONES, entsoeProvider, entsoeUrl, parseEntsoe } from './entsoe';
import { parsePriceFile } from './file';
import { nordPoolProvider, parseNordPool } from './nord-pool';
import { octopusProvider } from './octopus';
import { createProvider, validateSourceConfig } from './sources';
import { parseTibber, TIBBER_URL, tibberProvider } from './tibber';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const fixtureJson = (name: string): unknown => JSON.parse(fixture(name));
const iso = (ms: number): string => new Date(ms).toISOString();
const T0 = Date.UTC(2025, 9, 13, 22); // 2025-10-14 00:00 in Rome

/** Every parser's output obeys the grid: aligned, 15 minutes long, sorted, unique, finite. */
export function expectGridSlots(slots: readonly PriceSlot[]): void {
  let previous = -Infinity;
  for (const s of slots) {
    expect(s.start % SLOT_MS).toBe(0);
    expect(s.end - s.start).toBe(SLOT_MS);
    expect(s.start).toBeGreaterThan(previous);
    expect(Number.isFinite(s.price)).toBe(true);
    previous = s.start;
  }
}

async function rejection(promise: Promise<unknown>): Promise<PriceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PriceError);
    return error as PriceError;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): PriceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PriceError);
    return error as PriceError;
  }
  throw new Error('expected an exception');
}

describe('Energy-Charts', () => {
  it('reads quarter-hour prices of an Italian zone in EUR/kWh', () => {
    const slots = parseEnergyCharts(fixtureJson('energy-charts-it-north.json'));
    expectGridSlots(slots);
    expect(slots).toHaveLength(8);
    expect(iso(slots[0]?.start ?? 0)).toBe('2025-10-13T22:00:00.000Z');
    expect(slots.map((s) => s.price)).toEqual([0.11245, 0.1089, 0.10402, 0.10137, 0.09981, 0.0975, 0.09613, 0.09504]);
  });

  it('spreads hourly prices (before the 15-minute market) over four slots, negative prices kept', () => {
    const slots = parseEnergyCharts(fixtureJson('energy-charts-de-lu-hourly.json'));
    expect(slots).toHaveLength(12);
    expect(slots.slice(0, 4).map((s) => s.price)).toEqual([0.0712, 0.0712, 0.0712, 0.0712]);
    expect(slots[11]?.price).toBe(-0.0035);
  });

  it('leaves a null price and a missing timestamp as missing slots, stretching nothing', () => {
    const slots = parseEnergyCharts(fixtureJson('energy-charts-gaps.json'));
    expect(slots.map((s) => (s.start - T0) / SLOT_MS)).toEqual([0, 2, 4]);
  });

  it('returns nothing for an empty day', () => {
    expect(parseEnergyCharts(fixtureJson('energy-charts-empty.json'))).toEqual([]);
  });

  it('has 100 slots on the day the clocks go back and 92 when they go forward', () => {
    const autumn = localDayRange('2025-10-26', 'Europe/Rome');
    const long = parseEnergyCharts(energyChartsBody(autumn.start, SLOT_MS, Array.from({ length: 100 }, (_, i) => 80 + i)));
    expect(long).toHaveLength(100);
    expect(long[99]?.end).toBe(autumn.end);
    const spring = localDayRange('2026-03-29', 'Europe/Rome');
    expect(parseEnergyCharts(energyChartsBody(spring.start, SLOT_MS, Array.from({ length: 92 }, () => 90)))).toHaveLength(92);
  });

  it('rejects bodies that are not its format, naming what is wrong', () => {
    expect(thrown(() => parseEnergyCharts({ unix_seconds: [1, 2], price: [1] })).message).toMatch(/2 timestamps but 1 prices/);
    expect(thrown(() => parseEnergyCharts({ ...(fixtureJson('energy-charts-it-north.json') as object), unit: 'EUR / kWh' })).message).toMatch(/unexpected unit/);
    expect(thrown(() => parseEnergyCharts(energyChartsBody(T0 + 60_000, SLOT_MS, [100]))).message).toMatch(/15-minute grid/);
    expect(thrown(() => parseEnergyCharts(energyChartsBody(T0, SLOT_MS, [100, 'x' as unknown as number]))).message).toMatch(/not a number/);
    expect(thrown(() => parseEnergyCharts(energyChartsBody(T0, SLOT_MS, [150_000]))).message).toMatch(/implausible/);
    expect(thrown(() => parseEnergyCharts('<html>')).kind).toBe('malformed');
  });

  it('asks for the zone and range and keeps only the slots asked for', async () => {
    const fetch = fakeFetch(() => jsonResponse(fixtureJson('energy-charts-it-north.json')));
    const provider = energyChartsProvider('IT-North', { fetch });
    const slots = await provider.fetchRange(T0 + SLOT_MS, T0 + 3 * SLOT_MS);
    expect(slots.map((s) => s.price)).toEqual([0.1089, 0.10402]);
    expect(fetch.requests[0]?.url).toBe(energyChartsUrl('IT-North', T0 + SLOT_MS, T0 + 3 * SLOT_MS));
    expect(fetch.requests[0]?.url).toContain('bzn=IT-North&start=2025-10-13T22%3A15Z&end=2025-10-13T22%3A30Z');
  });

  it('turns HTTP errors, CORS and no network into typed errors', async () => {
    const down = energyChartsProvider('DE-LU', { fetch: fakeFetch(() => jsonResponse({ detail: 'Service Unavailable' }, 503)) });
    const e503 = await rejection(down.fetchRange(T0, T0 + SLOT_MS));
    expect(e503.kind).toBe('http');
    expect(e503.retryable).toBe(true);
    expect(e503.message).toBe('Energy-Charts answered HTTP 503: Service Unavailable.');
    const none = energyChartsProvider('DE-LU', { fetch: fakeFetch(() => jsonResponse({ detail: 'Not Found' }, 404)) });
    expect(await none.fetchRange(T0, T0 + SLOT_MS)).toEqual([]);
    const garbled = energyChartsProvider('DE-LU', { fetch: fakeFetch(() => textResponse('<html>Gateway</html>', 200, 'text/html')) });
    expect((await rejection(garbled.fetchRange(T0, T0 + SLOT_MS))).message).toMatch(/not JSON.*Nothing from it was stored/);
    const cors = await rejection(energyChartsProvider('DE-LU', { fetch: corsRefusingFetch() }).fetchRange(T0, T0 + SLOT_MS));
    expect(cors.kind).toBe('cors');
    const offline = await rejection(energyChartsProvider('DE-LU', { fetch: unreachableFetch(), offline: () => true }).fetchRange(T0, T0 + SLOT_MS));
    expect(offline.kind).toBe('network');
    expect(offline.message).toMatch(/offline/);
  });
});

describe('a request to a server that never answers', () => {
  /** Accepts the connection and stays silent; only an abort ends the wait. */
  const silentServer = (seen: AbortSignal[]) => (_url: string, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal;
      if (signal) seen.push(signal);
      signal?.addEventListener('abort', () => reject(new DOMException('The operation was aborted.', 'AbortError')));
    });

  it('gives up after the timeout with a network error, to be retried', async () => {
    const seen: AbortSignal[] = [];
    const error = await rejection(request(silentServer(seen) as never, 'https://api.energy-charts.info/price', {}, { provider: 'Energy-Charts', timeoutMs: 50 }));
    expect(error.kind).toBe('network');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('Energy-Charts did not answer within 0.05 s.');
    expect(seen[0]?.aborted).toBe(true);
  });

  it('is still cancelled by the caller, as cancelled', async () => {
    const caller = new AbortController();
    const pending = request(silentServer([]) as never, 'https://api.energy-charts.info/price', {}, { provider: 'Energy-Charts', signal: caller.signal, timeoutMs: 10_000 });
    caller.abort();
    expect((await rejection(pending)).kind).toBe('aborted');
  });
});

describe('aWATTar', () => {
  it('reads EUR/MWh hours in ms and spreads them over the grid', () => {
    const slots = parseAwattar(fixtureJson('awattar-de.json'));
    expectGridSlots(slots);
    expect(slots).toHaveLength(12);
    expect(slots[4]?.price).toBe(0.06805);
    expect(thrown(() => parseAwattar({ object: 'list', data: [{ start_timestamp: 1709679600000, end_timestamp: 1709683200000, marketprice: 1, unit: 'ct/kWh' }] })).message).toMatch(/unit/);
    expect(thrown(() => parseAwattar({ object: 'list' })).kind).toBe('malformed');
  });

  it('asks with ms bounds and reads a browser refusal as its rate limit, to retry', async () => {
    expect(awattarUrl('AT', 1, 2)).toBe('https://api.awattar.at/v1/marketdata?start=1&end=2');
    const error = await rejection(awattarProvider('DE', { fetch: corsRefusingFetch() }).fetchRange(T0, T0 + SLOT_MS));
    expect(error.kind).toBe('rate-limit');
    expect(error.retryable).toBe(true);
    const limited = await rejection(awattarProvider('DE', { fetch: fakeFetch(() => jsonResponse({}, 429, { 'retry-after': '120' })) }).fetchRange(T0, T0 + SLOT_MS));
    expect(limited.details.retryAfterMs).toBe(120_000);
  });
});

describe('Octopus Agile', () => {
  it('follows the pages, converts pence to pounds and halves the half-hours', async () => {
    const fetch = fakeFetch((url) => jsonResponse(fixtureJson(url.includes('page=2') ? 'octopus-agile-page2.json' : 'octopus-agile-page1.json')));
    const provider = octopusProvider({ product: 'AGILE-24-10-01', region: 'C', vat: 'excluded' }, { fetch });
    const from = Date.UTC(2025, 2, 30, 0);
    const slots = await provider.fetchRange(from, from + 10 * SLOT_MS);
    expectGridSlots(slots);
    expect(fetch.requests).toHaveLength(2);
    expect(fetch.requests[0]?.url).toContain('/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/');
    expect(slots).toHaveLength(10);
    expect(slots.map((s) => s.price)).toEqual([0.168, 0.168, 0.1743, 0.1743, 0.189, 0.189, 0.1946, 0.1946, 0.201, 0.201]);
    expect(provider.currency).toBe('GBP');
  });

  it('takes the VAT-inclusive rate when told to', async () => {
    const fetch = fakeFetch((url) => jsonResponse(fixtureJson(url.includes('page=2') ? 'octopus-agile-page2.json' : 'octopus-agile-page1.json')));
    const slots = await octopusProvider({ product: 'AGILE-24-10-01', region: 'C', vat: 'included' }, { fetch }).fetchRange(Date.UTC(2025, 2, 30, 0), Date.UTC(2025, 2, 30, 1));
    expect(slots[2]?.price).toBe(0.183015);
  });

  it('refuses a next page on another host and a rate without an end', async () => {
    const evil = fakeFetch(() => jsonResponse({ ...(fixtureJson('octopus-agile-page1.json') as object), next: 'https://example.org/steal' }));
    expect((await rejection(octopusProvider({ product: 'AGILE-24-10-01', region: 'C', vat: 'excluded' }, { fetch: evil }).fetchRange(Date.UTC(2025, 2, 30, 0), Date.UTC(2025, 2, 30, 3)))).message).toMatch(/points away/);
    const open = fakeFetch(() => jsonResponse({ count: 1, next: null, previous: null, results: [{ value_exc_vat: 20, value_inc_vat: 21, valid_from: '2025-03-30T00:00:00Z', valid_to: null }] }));
    expect((await rejection(octopusProvider({ product: 'VAR-22-11-01', region: 'C', vat: 'excluded' }, { fetch: open }).fetchRange(Date.UTC(2025, 2, 30, 0), Date.UTC(2025, 2, 30, 3)))).message).toMatch(/valid_to/);
  });
});

describe('Nord Pool', () => {
  it('reads one delivery day per request and the area asked for', async () => {
    const fetch = fakeFetch((url) => (url.includes('date=2025-10-14') ? jsonResponse(fixtureJson('nord-pool-se3.json')) : new Response(null, { status: 204 })));
    const provider = nordPoolProvider('SE3', 'EUR', { fetch });
    const slots = await provider.fetchRange(T0, T0 + 2 * 96 * SLOT_MS);
    expect(fetch.requests.map((r) => new URL(r.url).searchParams.get('date'))).toEqual(['2025-10-14', '2025-10-15']);
    expect(new URL(fetch.requests[0]?.url ?? '').searchParams.get('deliveryArea')).toBe('SE3');
    expect(slots.map((s) => s.price)).toEqual([0.03177, 0.0296, 0.02805, 0.0274]);
  });

  it('treats a missing area value as a missing slot and another currency as an error', () => {
    const body = fixtureJson('nord-pool-se3.json') as { multiAreaEntries: { entryPerArea: Record<string, number> }[] };
    expect(parseNordPool(body, 'SE4', 'EUR')).toEqual([]);
    expect(thrown(() => parseNordPool(body, 'SE3', 'SEK')).message).toMatch(/in EUR, SEK was asked for/);
  });
});

describe('Tibber', () => {
  it('posts the query with the bearer token and reads the spot part', async () => {
    const fetch = fakeFetch(() => jsonResponse(fixtureJson('tibber-prices.json')));
    const provider = tibberProvider({ token: 'secret', field: 'energy', currency: 'EUR' }, { fetch });
    const slots = await provider.fetchRange(T0, T0 + 96 * SLOT_MS);
    const request = fetch.requests[0];
    expect(request?.url).toBe(TIBBER_URL);
    expect(request?.init?.method).toBe('POST');
    expect((request?.init?.headers as Record<string, string>).authorization).toBe('Bearer secret');
    expect(JSON.parse(String(request?.init?.body)).query).toContain('priceInfo(resolution: QUARTER_HOURLY)');
    expect(iso(slots[0]?.start ?? 0)).toBe('2025-10-13T22:00:00.000Z');
    expect(slots.map((s) => s.price)).toEqual([0.0912, 0.0886, 0.0875, 0.0847]);
  });

  it('reads the total when asked, and offsets on either side of a DST change', () => {
    const body = {
      data: { viewer: { homes: [{ id: 'h', currentSubscription: { priceInfo: { today: [
        { total: 0.3, energy: 0.1, tax: 0.2, startsAt: '2025-10-26T02:45:00.000+02:00', currency: 'EUR' },
        { total: 0.31, energy: 0.11, tax: 0.2, startsAt: '2025-10-26T02:00:00.000+01:00', currency: 'EUR' },
      ], tomorrow: null } } }] } },
    };
    const slots = parseTibber(body, { field: 'total', currency: 'EUR' });
    expect(slots.map((s) => iso(s.start))).toEqual(['2025-10-26T00:45:00.000Z', '2025-10-26T01:00:00.000Z']);
    expect(slots.map((s) => s.price)).toEqual([0.3, 0.31]);
  });

  it('says plainly when the token is refused, missing, or the home unknown', async () => {
    const refused = tibberProvider({ token: 'bad', field: 'energy', currency: 'EUR' }, { fetch: fakeFetch(() => jsonResponse(fixtureJson('tibber-unauthenticated.json'), 400)) });
    const auth = await rejection(refused.fetchRange(T0, T0 + SLOT_MS));
    expect(auth.kind).toBe('auth');
    expect(auth.message).toMatch(/refused the token: Context creation failed: invalid token/);
    expect((await rejection(tibberProvider({ token: ' ', field: 'energy', currency: 'EUR' }, { fetch: unreachableFetch() }).fetchRange(T0, T0 + SLOT_MS))).kind).toBe('config');
    expect(thrown(() => parseTibber(fixtureJson('tibber-prices.json'), { homeId: 'other', field: 'energy', currency: 'EUR' }, T0, T0 + SLOT_MS)).kind).toBe('config');
    expect(thrown(() => parseTibber(fixtureJson('tibber-prices.json'), { field: 'energy', currency: 'SEK' })).message).toMatch(/in EUR/);
  });
});

describe('ENTSO-E', () => {
  it('reads an A44 document, repeating left-out positions of an A03 curve', () => {
    const slots = parseEntsoe(fixture('entsoe-a44-it-north.xml'));
    expectGridSlots(slots);
    expect(slots.map((s) => s.price)).toEqual([0.11245, 0.11245, 0.10402, 0.10402]);
    expect(iso(slots[0]?.start ?? 0)).toBe('2025-10-13T22:00:00.000Z');
  });

  it('leaves left-out positions of an A01 curve as gaps, and spreads PT60M', () => {
    expect(parseEntsoe(entsoeA44(T0, 'PT15M', [100, undefined, 102], 'A01')).map((s) => (s.start - T0) / SLOT_MS)).toEqual([0, 2]);
    expect(parseEntsoe(entsoeA44(T0, 'PT60M', [100, 90])).map((s) => s.price)).toEqual([0.1, 0.1, 0.1, 0.1, 0.09, 0.09, 0.09, 0.09]);
  });

  it('prefers the 15-minute series when a 60-minute one covers the same slots', () => {
    const hourly = entsoeA44(T0, 'PT60M', [100]);
    const quarter = entsoeA44(T0, 'PT15M', [101, 102, 103, 104]);
    const series = (doc: string): string => doc.slice(doc.indexOf('<TimeSeries>'), doc.indexOf('</TimeSeries>') + '</TimeSeries>'.length);
    const both = hourly.replace('</Publication_MarketDocument>', `${series(quarter)}\n</Publication_MarketDocument>`);
    expect(parseEntsoe(both).map((s) => s.price)).toEqual([0.101, 0.102, 0.103, 0.104]);
  });

  it('has 100 slots on the long DST day', () => {
    const { start } = localDayRange('2025-10-26', 'Europe/Rome');
    expect(parseEntsoe(entsoeA44(start, 'PT15M', Array.from({ length: 100 }, (_, i) => i)))).toHaveLength(100);
  });

  it('reads "no matching data" as an empty day and other acknowledgements as errors', () => {
    expect(parseEntsoe(fixture('entsoe-ack-no-data.xml'))).toEqual([]);
    const error = thrown(() => parseEntsoe(fixture('entsoe-ack-bad-request.xml')));
    expect(error.kind).toBe('http');
    expect(error.message).toMatch(/exceeds allowed limit/);
  });

  it('rejects broken XML and impossible points', () => {
    expect(thrown(() => parseEntsoe('<Publication_MarketDocument><TimeSeries>')).message).toMatch(/well-formed/);
    expect(thrown(() => parseEntsoe('')).message).toMatch(/empty/);
    expect(thrown(() => parseEntsoe(entsoeA44(T0, 'PT15M', [1]).replace('<position>1</position>', '<position>7</position>'))).message).toMatch(/outside its Period/);
    expect(thrown(() => parseEntsoe(entsoeA44(T0, 'PT15M', [1]).replace('<price.amount>1</price.amount>', '<price.amount>n/a</price.amount>'))).message).toMatch(/has price/);
    expect(thrown(() => parseEntsoe(entsoeA44(T0, 'PT15M', [1]).replace('PT15M', 'PT7M'))).message).toMatch(/resolution/);
    expect(thrown(() => parseEntsoe(entsoeA44(T0, 'PT15M', [1]).replace('<currency_Unit.name>EUR', '<currency_Unit.name>PLN'))).message).toMatch(/PLN/);
  });

  it('builds the request with the token and zone, or through the proxy', () => {
    const options = { token: 'tok', eic: ENTSOE_ZONES['IT-North'] ?? '' };
    expect(entsoeUrl(options, T0, T0 + 96 * SLOT_MS)).toBe('https://web-api.tp.entsoe.eu/api?securityToken=tok&documentType=A44&in_Domain=10Y1001A1001A73I&out_Domain=10Y1001A1001A73I&periodStart=202510132200&periodEnd=202510142200');
    expect(entsoeUrl({ ...options, proxyUrl: 'https://proxy.example/entsoe' }, T0, T0 + SLOT_MS)).toMatch(/^https:\/\/proxy\.example\/entsoe\?securityToken=tok&/);
  });

  it('says plainly that the browser refuses ENTSO-E without a proxy', async () => {
    const fetch = corsRefusingFetch();
    const error = await rejection(entsoeProvider({ token: 'tok', eic: '10Y1001A1001A73I' }, { fetch }).fetchRange(T0, T0 + SLOT_MS));
    expect(error.kind).toBe('cors');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/web-api\.tp\.entsoe\.eu does not allow calls from web pages \(CORS\)\. Set a proxy URL/);
    // The probe that tells CORS from offline carries no token.
    expect(fetch.requests[1]?.url).toBe('https://web-api.tp.entsoe.eu/');
    expect(fetch.requests[1]?.init?.mode).toBe('no-cors');
  });

  it('goes through the proxy, reads a refused token, and needs a token', async () => {
    const fetch = fakeFetch(() => textResponse(fixture('entsoe-a44-it-north.xml')));
    const provider = entsoeProvider({ token: 'tok', eic: '10Y1001A1001A73I', proxyUrl: 'http://localhost:8080/entsoe' }, { fetch });
    expect(await provider.fetchRange(T0, T0 + 4 * SLOT_MS)).toHaveLength(4);
    expect(fetch.requests[0]?.url).toMatch(/^http:\/\/localhost:8080\/entsoe\?/);
    expect(provider.label).toBe('ENTSO-E (IT-North)');
    const unauthorized = entsoeProvider({ token: 'bad', eic: '10Y1001A1001A73I' }, { fetch: fakeFetch(() => textResponse('<html><body><h1>Unauthorized</h1></body></html>', 401, 'text/html')) });
    const auth = await rejection(unauthorized.fetchRange(T0, T0 + SLOT_MS));
    expect(auth.kind).toBe('auth');
    expect(auth.message).toBe('ENTSO-E refused the token (HTTP 401): Unauthorized. Check the token in the settings.');
    expect((await rejection(entsoeProvider({ token: '', eic: '10Y1001A1001A73I' }, { fetch }).fetchRange(T0, T0 + SLOT_MS))).kind).toBe('config');
  });
});

describe('imported files', () => {
  it('reads a CSV with epoch seconds and EUR/MWh', () => {
    const csv = 'start,price\n1760392800,112.45\n1760393700,108.9\n';
    const slots = parsePriceFile(csv, { unit: 'currency/MWh', timeZone: 'Europe/Rome' });
    expect(slots.map((s) => [iso(s.start), s.price])).toEqual([
      ['2025-10-13T22:00:00.000Z', 0.11245],
      ['2025-10-13T22:15:00.000Z', 0.1089],
    ]);
  });

  it('reads a semicolon CSV with decimal commas and local hours across the repeated hour', () => {
    // 26 October 2025 in Rome: 02:00–03:00 happens twice; rows in order tell the two apart.
    const withEnd = ['Start;End;Price', '2025-10-26 01:00;2025-10-26 02:00;10,5', '2025-10-26 02:00;2025-10-26 02:00;11,25', '2025-10-26 02:00;2025-10-26 03:00;12', '2025-10-26 03:00;2025-10-26 04:00;13'].join('\r\n');
    const withoutEnd = ['Start;Price', '2025-10-26 01:00;10,5', '2025-10-26 02:00;11,25', '2025-10-26 02:00;12', '2025-10-26 03:00;13'].join('\r\n');
    for (const csv of [withEnd, withoutEnd]) {
      const slots = parsePriceFile(csv, { unit: 'cent/kWh', timeZone: 'Europe/Rome' });
      expectGridSlots(slots);
      expect(slots).toHaveLength(16);
      const firstOf = (price: number): string => iso(slots.find((s) => s.price === price)?.start ?? 0);
      expect(firstOf(0.105)).toBe('2025-10-25T23:00:00.000Z');
      expect(firstOf(0.1125)).toBe('2025-10-26T00:00:00.000Z');
      expect(firstOf(0.12)).toBe('2025-10-26T01:00:00.000Z');
      expect(firstOf(0.13)).toBe('2025-10-26T02:00:00.000Z');
    }
  });

  it('reads JSON in the {start, end, value} shape with ISO times', () => {
    const json = JSON.stringify([{ start: '2025-01-01T00:00:00Z', end: '2025-01-01T00:15:00Z', value: 0.25 }, { start: '2025-01-01T00:15:00Z', end: '2025-01-01T00:30:00Z', value: 0.2 }]);
    expect(parsePriceFile(json, { unit: 'currency/kWh', timeZone: 'UTC' }).map((s) => s.price)).toEqual([0.25, 0.2]);
    expect(parsePriceFile(JSON.stringify({ prices: [{ from: 1735689600000, to: 1735693200000, price: 0.3 }] }), { unit: 'currency/kWh', timeZone: 'UTC' })).toHaveLength(4);
  });

  it('names the bad row and imports nothing from a bad file', () => {
    expect(() => parsePriceFile('start,price\n1760392800,0.1\n1760393700,abc\n', { unit: 'currency/kWh', timeZone: 'UTC' })).toThrow(/line 3: price "abc" is not a number/);
    expect(() => parsePriceFile('time,cost\n1,2\n', { unit: 'currency/kWh', timeZone: 'UTC' })).toThrow(/"start" and "price"/);
    expect(() => parsePriceFile('start,price\n1760392800,0.1\n', { unit: 'currency/kWh', timeZone: 'UTC' })).toThrow(/add an end column/);
    expect(() => parsePriceFile('', { unit: 'currency/kWh', timeZone: 'UTC' })).toThrow(/empty/);
    expect(() => parsePriceFile('[{"start": "soon", "price": 1}]', { unit: 'currency/kWh', timeZone: 'UTC' })).toThrow(/entry 1: start "soon" is not a time/);
  });
});

describe('shared conversion', () => {
  it('reads epoch ms, epoch s, ISO with offsets and local times', () => {
    expect(parseInstant(1760392800)).toBe(1760392800000);
    expect(parseInstant(1760392800000)).toBe(1760392800000);
    expect(parseInstant('2025-10-14T00:00:00+02:00')).toBe(1760392800000);
    expect(parseInstant('2025-10-14T00:00+0200')).toBe(1760392800000);
    expect(parseInstant('2025-10-14 00:00', 'Europe/Rome')).toBe(1760392800000);
    expect(parseInstant('2025-03-30 02:30', 'Europe/Rome')).toBeUndefined();
    expect(parseInstant('tomorrow')).toBeUndefined();
    expect(parseInstant('2025-10-14 00:00')).toBeUndefined();
  });

  it('rejects two different prices for one slot and merges equal ones', () => {
    expect(toSlots('X', [{ start: T0, end: T0 + SLOT_MS, price: 1 }, { start: T0, end: T0 + SLOT_MS, price: 1 }])).toHaveLength(1);
    expect(() => toSlots('X', [{ start: T0, end: T0 + 4 * SLOT_MS, price: 1 }, { start: T0 + SLOT_MS, end: T0 + 2 * SLOT_MS, price: 2 }])).toThrow(/two different prices/);
  });
});

describe('source settings', () => {
  it('accepts each provider with its fields and explains what is missing', () => {
    expect(validateSourceConfig({ provider: 'energy-charts', zone: 'IT-North' }).ok).toBe(true);
    expect(validateSourceConfig({ provider: 'entsoe', token: 't', eic: '10Y1001A1001A73I', proxyUrl: 'https://p.example/x' }).ok).toBe(true);
    const bad = validateSourceConfig({ provider: 'entsoe', token: '', eic: 'IT-North', proxyUrl: 'ftp://x' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path)).toEqual(['token', 'eic', 'proxyUrl']);
    const zone = validateSourceConfig({ provider: 'energy-charts', zone: 'IT-Nord' });
    expect(zone.ok ? '' : zone.issues[0]?.message).toMatch(/The bidding zone must be one of .*"IT-North"/);
    expect(validateSourceConfig({ provider: 'gme' }).ok).toBe(false);
  });

  it('makes the adapter of each source', () => {
    const fetch = unreachableFetch();
    expect(createProvider({ provider: 'awattar', country: 'AT' }, { fetch })?.sourceKey).toBe('awattar:AT');
    expect(createProvider({ provider: 'nord-pool', area: 'SE3', currency: 'SEK' }, { fetch })?.currency).toBe('SEK');
    expect(createProvider({ provider: 'file', currency: 'EUR' }, { fetch })).toBeUndefined();
  });

  it('makes ENTSO-E’s adapter before its XML reader is loaded: the same provider, fetching the same', async () => {
    const config = { provider: 'entsoe' as const, token: 'tok', eic: '10Y1001A1001A73I', proxyUrl: 'http://localhost:8080/entsoe' };
    const fetch = fakeFetch(() => textResponse(fixture('entsoe-a44-it-north.xml')));
    const lazy = createProvider(config, { fetch });
    const direct = entsoeProvider(config, { fetch });
    const { fetchRange: _l, ...lazyFields } = lazy ?? direct;
    const { fetchRange: _d, ...directFields } = direct;
    expect(lazy).toBeDefined();
    expect(lazyFields).toEqual(directFields);
    expect(await lazy?.fetchRange(T0, T0 + 4 * SLOT_MS)).toEqual(await direct.fetchRange(T0, T0 + 4 * SLOT_MS));
    expect(fetch.requests.map((r) => r.url.split('?')[0])).toEqual(['http://localhost:8080/entsoe', 'http://localhost:8080/entsoe']);
  });
});

describe('every HTTP provider on empty days, DST days, HTTP errors and garbage', () => {
  const autumn = localDayRange('2025-10-26', 'Europe/Rome'); // 100 slots, 25 hours
  const quarterStarts = Array.from({ length: 100 }, (_, i) => autumn.start + i * SLOT_MS);
  const hourStarts = Array.from({ length: 25 }, (_, i) => autumn.start + i * 4 * SLOT_MS);
  const bodies = {
    awattar: {
      empty: { object: 'list', data: [], url: '/de/v1/marketdata' },
      dst: { object: 'list', data: hourStarts.map((t) => ({ start_timestamp: t, end_timestamp: t + 3_600_000, marketprice: 90.5, unit: 'Eur/MWh' })), url: '/de/v1/marketdata' },
      make: (fetch: FakeFetchLike) => awattarProvider('DE', { fetch }),
    },
    octopus: {
      empty: { count: 0, next: null, previous: null, results: [] },
      dst: { count: 50, next: null, previous: null, results: Array.from({ length: 50 }, (_, i) => autumn.start + (49 - i) * 2 * SLOT_MS).map((t) => ({ value_exc_vat: 20, value_inc_vat: 21, valid_from: iso(t).replace('.000', ''), valid_to: iso(t + 2 * SLOT_MS).replace('.000', ''), payment_method: null })) },
      make: (fetch: FakeFetchLike) => octopusProvider({ product: 'AGILE-24-10-01', region: 'C', vat: 'excluded' }, { fetch }),
    },
    'nord pool': {
      empty: { deliveryDateCET: '2025-10-26', version: 1, multiAreaEntries: [], currency: 'EUR' },
      dst: { deliveryDateCET: '2025-10-26', version: 1, currency: 'EUR', multiAreaEntries: quarterStarts.map((t) => ({ deliveryStart: iso(t), deliveryEnd: iso(t + SLOT_MS), entryPerArea: { SE3: 40.1 } })) },
      make: (fetch: FakeFetchLike) => nordPoolProvider('SE3', 'EUR', { fetch }),
    },
    tibber: {
      empty: { data: { viewer: { homes: [{ id: 'h', currentSubscription: { priceInfo: { today: [], tomorrow: [] } } }] } } },
      dst: { data: { viewer: { homes: [{ id: 'h', currentSubscription: { priceInfo: { today: quarterStarts.map((t) => ({ total: 0.3, energy: 0.1, tax: 0.2, startsAt: new Date(t).toISOString(), currency: 'EUR' })), tomorrow: [] } } }] } } },
      make: (fetch: FakeFetchLike) => tibberProvider({ token: 't', field: 'energy', currency: 'EUR' }, { fetch }),
    },
  };
  type FakeFetchLike = ReturnType<typeof fakeFetch>;

  for (const [name, b] of Object.entries(bodies)) {
    it(`${name}: no prices, 100 slots on 26 October, HTTP 503, and a body that is not JSON`, async () => {
      expect(await b.make(fakeFetch(() => jsonResponse(b.empty))).fetchRange(autumn.start, autumn.end)).toEqual([]);
      const dst = await b.make(fakeFetch(() => jsonResponse(b.dst))).fetchRange(autumn.start, autumn.end);
      expectGridSlots(dst);
      expect(dst).toHaveLength(100);
      expect(dst[99]?.end).toBe(autumn.end);
      const down = await rejection(b.make(fakeFetch(() => jsonResponse({ message: 'Service Unavailable' }, 503))).fetchRange(autumn.start, autumn.end));
      expect([down.kind, down.retryable, down.details.status]).toEqual(['http', true, 503]);
      const garbage = await rejection(b.make(fakeFetch(() => textResponse('<html>maintenance</html>', 200, 'text/html'))).fetchRange(autumn.start, autumn.end));
      expect(garbage.kind).toBe('malformed');
      expect(garbage.message).toMatch(/Nothing from it was stored/);
    });
  }
});
