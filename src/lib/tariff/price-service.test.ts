import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openPriceStore, type PriceStore } from './price-store';
import { PriceService, tariffSlots } from './price-service';
import type { PriceSourceConfig } from './providers/sources';
import { SLOT_MS } from './slot';
import { ITALIAN_F123_EXAMPLE, type Tariff } from './tariff';
import { corsRefusingFetch, energyChartsBody, FakeClock, type FakeFetch, fakeFetch, jsonResponse, unreachableFetch } from './testing';
import { instantsOfWallTime, localDayRange } from './zone';

const ROME = 'Europe/Rome';
const tariff: Tariff = { ...ITALIAN_F123_EXAMPLE, energy: { kind: 'dynamic', markupPerKwh: 0.01, fallback: { kind: 'fixed', perKwh: 0.2 } } };
const source: PriceSourceConfig = { provider: 'energy-charts', zone: 'IT-North' };
const TODAY = localDayRange('2025-10-14', ROME);
const TOMORROW = localDayRange('2025-10-15', ROME);
const wall = (date: string, hour: number, minute = 0): number => instantsOfWallTime(date, hour, minute, ROME)[0] ?? 0;
const priceOf = (t: number): number => 50 + ((t / SLOT_MS) % 40); // EUR/MWh, any stable pattern

let dbCount = 0;
const store = (): Promise<PriceStore> => openPriceStore(`price-service-test-${++dbCount}`);

/** Energy-Charts as the service sees it: prices exist up to `publishedUntil()`. */
function energyCharts(publishedUntil: () => number, fail?: () => Response | undefined): FakeFetch {
  return fakeFetch((url) => {
    const failure = fail?.();
    if (failure) return failure;
    const params = new URL(url).searchParams;
    const from = Date.parse(params.get('start') ?? '');
    const to = Math.min(Date.parse(params.get('end') ?? '') + SLOT_MS, publishedUntil());
    const prices: number[] = [];
    for (let t = from; t < to; t += SLOT_MS) prices.push(priceOf(t));
    return jsonResponse(energyChartsBody(from, SLOT_MS, prices));
  });
}

describe('the price service', () => {
  it('fetches today at start, tomorrow after 13:00, and caches both', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    let published = TODAY.end;
    const fetch = energyCharts(() => published);
    const cache = await store();
    const service = new PriceService({ source, tariff, fetch, store: cache, clock, random: () => 0.5 });
    await service.start();
    expect(fetch.requests).toHaveLength(1);
    expect(service.status).toMatchObject({ state: 'live', usingFallback: false, knownUntil: TODAY.end, source: 'Energy-Charts (IT-North)' });
    expect(service.status.message).toBe('Prices from Energy-Charts (IT-North), known until Wed 15 Oct, 00:00.');
    expect(await cache.get('energy-charts:IT-North', TODAY.start, TODAY.end)).toHaveLength(96);
    // Next: shortly after the day-ahead results (13:00 CET = 13:00 in Rome).
    expect(service.status.nextAttemptAt).toBe(wall('2025-10-14', 13, 5));

    // At 13:05 the results are not out yet: look again every 15 minutes.
    expect(clock.fireNext()).toBe(true);
    await service.idle;
    expect(service.status.state).toBe('waiting');
    expect(service.status.message).toMatch(/tomorrow's are not out yet\. Next try Tue 14 Oct, 13:20\./);
    published = TOMORROW.end;
    clock.fireNext();
    await service.idle;
    expect(service.status).toMatchObject({ state: 'live', knownUntil: TOMORROW.end, nextAttemptAt: wall('2025-10-15', 13, 5) });
    expect(await cache.get('energy-charts:IT-North', TOMORROW.start, TOMORROW.end)).toHaveLength(96);
    const slots = await service.slots(TODAY.start, TODAY.start + SLOT_MS);
    expect(slots[0]?.price).toBe(priceOf(TODAY.start) / 1000);
    service.stop();
    cache.close();
  });

  it('backs off exponentially while the provider fails, and says the fallback applies', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const fetch = energyCharts(() => TODAY.end, () => jsonResponse({ detail: 'Internal Server Error' }, 500));
    const service = new PriceService({ source, tariff, fetch, store: await store(), clock, random: () => 0.5 });
    await service.start();
    expect(service.status).toMatchObject({ state: 'fallback', usingFallback: true, lastError: { kind: 'http' } });
    expect(service.status.message).toMatch(/^Energy-Charts answered HTTP 500: Internal Server Error\. Costs use the tariff's fallback prices until market prices are known\. Next try/);
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = clock.now();
      delays.push(((service.status.nextAttemptAt ?? 0) - before) / 60_000);
      clock.fireNext();
      await service.idle;
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    expect(fetch.requests).toHaveLength(10);
    service.stop();
    expect(clock.nextTimerAt).toBeUndefined();
  });

  it('honours Retry-After and stores nothing from a malformed answer', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const cache = await store();
    let answer = jsonResponse({}, 429, { 'retry-after': '900' });
    const service = new PriceService({ source, tariff, fetch: fakeFetch(() => answer), store: cache, clock, random: () => 0.5 });
    await service.start();
    expect((service.status.nextAttemptAt ?? 0) - clock.now()).toBe(900_000);
    answer = jsonResponse({ unix_seconds: [TODAY.start / 1000, TODAY.start / 1000 + 900], price: [10], unit: 'EUR / MWh' });
    clock.fireNext();
    await service.idle;
    expect(service.status.lastError?.kind).toBe('malformed');
    expect(await cache.get('energy-charts:IT-North', TODAY.start, TODAY.end)).toEqual([]);
    service.stop();
    cache.close();
  });

  it('works from the cache when offline, and after a restart without network', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const cache = await store();
    const first = new PriceService({ source, tariff, fetch: energyCharts(() => TODAY.end), store: cache, clock, random: () => 0.5 });
    await first.start();
    first.stop();

    // Restarted before 13:00 with no network: today is cached, nothing to fetch.
    const offline = unreachableFetch();
    const second = new PriceService({ source, tariff, fetch: offline, store: cache, clock, offline: () => true });
    await second.start();
    expect(offline.requests).toHaveLength(0);
    expect(second.status).toMatchObject({ state: 'live', knownUntil: TODAY.end, lastSuccessAt: wall('2025-10-14', 10) });

    // After 13:00 it needs tomorrow, cannot fetch it, and keeps using today's cache.
    clock.fireNext();
    await second.idle;
    expect(second.status).toMatchObject({ state: 'offline', usingFallback: false, knownUntil: TODAY.end });
    expect(second.status.message).toMatch(/^Energy-Charts cannot be reached: this device is offline\. Cached prices are known until Wed 15 Oct, 00:00\. Next try/);
    expect((await second.tariffSlots(TODAY.end - SLOT_MS, TODAY.end + SLOT_MS)).map((s) => s.rates.energySource)).toEqual(['spot', 'fallback']);
    second.stop();
    cache.close();
  });

  it('says plainly that ENTSO-E is refused by the browser and does not hammer it', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const service = new PriceService({ source: { provider: 'entsoe', token: 'tok', eic: '10Y1001A1001A73I' }, tariff, fetch: corsRefusingFetch(), store: await store(), clock });
    await service.start();
    expect(service.status.state).toBe('blocked');
    expect(service.status.usingFallback).toBe(true);
    expect(service.status.message).toMatch(/^The browser refused ENTSO-E's answer: web-api\.tp\.entsoe\.eu does not allow calls from web pages \(CORS\)\. Set a proxy URL in the price settings/);
    expect(service.status.nextAttemptAt).toBe(wall('2025-10-15', 13, 5));
    service.stop();
  });

  it('reports a source in another currency, no source, and a tariff that needs none', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const fetch = unreachableFetch();
    const gbp = new PriceService({ source: { provider: 'octopus-agile', product: 'AGILE-24-10-01', region: 'C', vat: 'excluded' }, tariff, fetch, store: await store(), clock });
    await gbp.start();
    expect(gbp.status.state).toBe('blocked');
    expect(gbp.status.message).toMatch(/gives prices in GBP but the tariff is in EUR/);
    expect(fetch.requests).toHaveLength(0);
    gbp.stop();
    const none = new PriceService({ source: null, tariff, fetch, store: await store(), clock });
    expect(none.status).toMatchObject({ state: 'fallback', usingFallback: true, message: "No price source is set: costs use the tariff's fallback prices." });
    const fixed = new PriceService({ source, tariff: { ...ITALIAN_F123_EXAMPLE, feedIn: { kind: 'none' } }, fetch, store: await store(), clock });
    await fixed.start();
    expect(fixed.status.state).toBe('not-needed');
    expect(fetch.requests).toHaveLength(0);
    fixed.stop();
  });

  it('imports a price file for the file source, storing nothing from a bad one', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const cache = await store();
    const service = new PriceService({ source: { provider: 'file', currency: 'EUR' }, tariff, fetch: unreachableFetch(), store: cache, clock });
    await service.start();
    expect(service.status.state).toBe('fallback');
    await expect(service.importFile('start,price\n2025-10-14 00:00,0.1\n2025-10-14 00:15,oops\n', { unit: 'currency/kWh' })).rejects.toThrow(/line 3/);
    expect(await cache.get('file', TODAY.start, TODAY.end)).toEqual([]);
    const rows = ['start,price', ...Array.from({ length: 96 }, (_, i) => `${(TODAY.start + i * SLOT_MS) / 1000},${(0.1 + i / 1000).toFixed(3)}`)].join('\n');
    expect(await service.importFile(rows, { unit: 'currency/kWh' })).toEqual({ slots: 96, from: TODAY.start, to: TODAY.end });
    expect(service.status).toMatchObject({ state: 'live', source: 'Imported prices', knownUntil: TODAY.end });
    service.stop();
    cache.close();
  });

  it('fills the cache for a past billing period, fetching only what it lacks', async () => {
    const clock = new FakeClock(wall('2025-10-14', 10));
    const fetch = energyCharts(() => TODAY.end);
    const service = new PriceService({ source, tariff, fetch, store: await store(), clock });
    const september = { start: localDayRange('2025-09-01', ROME).start, end: localDayRange('2025-10-01', ROME).start };
    expect(await service.ensureRange(september.start, september.end)).toEqual({ complete: true });
    expect(fetch.requests).toHaveLength(1);
    expect(await service.slots(september.start, september.end)).toHaveLength(30 * 96);
    expect(await service.ensureRange(september.start, september.end)).toEqual({ complete: true });
    expect(fetch.requests).toHaveLength(1);
    const failing = new PriceService({ source, tariff, fetch: unreachableFetch(), store: await store(), clock });
    const result = await failing.ensureRange(september.start, september.end);
    expect(result.complete).toBe(false);
    expect(result.error?.kind).toBe('network');
  });
});

describe('tariff slots for planners', () => {
  it('gives every slot, at the spot price where known and the fallback elsewhere, with VAT', () => {
    const spot = [{ start: TODAY.start, end: TODAY.start + SLOT_MS, price: 0.1 }];
    const slots = tariffSlots(tariff, spot, TODAY.start, TODAY.start + 2 * SLOT_MS);
    expect(slots.map((s) => [s.band, s.rates.energySource])).toEqual([['F3', 'spot'], ['F3', 'fallback']]);
    expect(slots[0]?.importPrice).toBeCloseTo((0.1 + 0.01 + 0.045 + 0.0227) * 1.1, 12);
    expect(slots[1]?.importPrice).toBeCloseTo((0.2 + 0.045 + 0.0227) * 1.1, 12);
    expect(slots[0]?.feedInPrice).toBe(0.1);
    expect(slots[1]?.feedInPrice).toBe(0.05);
  });
});
