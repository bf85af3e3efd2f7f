/**
 * Energy-Charts (Fraunhofer ISE), day-ahead prices by bidding zone, no token:
 * `GET https://api.energy-charts.info/price?bzn=IT-North&start=…&end=…` →
 * `{"license_info": "…", "unix_seconds": [slot starts, s], "price": [EUR/MWh or null], "unit": "EUR / MWh", "deprecated": false}`.
 * Always EUR/MWh, even for zones with another currency. Quarter-hourly since the 15-minute
 * day-ahead market (delivery from 1 October 2025), hourly before.
 */
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { finiteNumber, type IntervalPrice, isRecord, malformed, parseJson, readText, request, toPerKwh, toSlots } from './common';
import { EU_DAY_AHEAD_PUBLICATION, type PriceProvider, type ProviderContext } from './provider';

const NAME = 'Energy-Charts';
export const ENERGY_CHARTS_URL = 'https://api.energy-charts.info/price';

/** Bidding zones as Energy-Charts names them (the `bzn` parameter), the Italian ones included. */
export const ENERGY_CHARTS_ZONES = [
  'AT', 'BE', 'BG', 'CH', 'CZ', 'DE-LU', 'DK1', 'DK2', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
  'IT-North', 'IT-Centre-North', 'IT-Centre-South', 'IT-South', 'IT-Calabria', 'IT-Sicily', 'IT-Sardinia',
  'LT', 'LV', 'NL', 'NO1', 'NO2', 'NO3', 'NO4', 'NO5', 'PL', 'PT', 'RO', 'RS', 'SE1', 'SE2', 'SE3', 'SE4', 'SI', 'SK',
] as const;

/** The first delivery day of the 15-minute day-ahead market (00:00 CEST, 1 October 2025). */
export const QUARTER_HOUR_MTU_FROM = Date.UTC(2025, 8, 30, 22);

/** `YYYY-MM-DDTHH:MMZ`, the ISO form the API takes. */
const isoMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';

export function energyChartsUrl(zone: string, from: number, to: number): string {
  const query = new URLSearchParams({ bzn: zone, start: isoMinute(from), end: isoMinute(to - SLOT_MS) });
  return `${ENERGY_CHARTS_URL}?${query}`;
}

/**
 * The slots of a `/price` answer. A `null` price is a missing slot. Each price holds for the
 * market's time unit: 15 minutes from the MTU change, an hour before it, or less if the series
 * itself steps more finely. A gap never stretches a price.
 */
export function parseEnergyCharts(body: unknown, from?: number, to?: number): PriceSlot[] {
  if (!isRecord(body)) throw malformed(NAME, 'expected a JSON object');
  const seconds = body.unix_seconds;
  const prices = body.price;
  if (!Array.isArray(seconds) || !Array.isArray(prices)) throw malformed(NAME, 'no unix_seconds and price arrays');
  if (seconds.length !== prices.length) throw malformed(NAME, `${seconds.length} timestamps but ${prices.length} prices`);
  if (seconds.length === 0) return [];
  const unit = typeof body.unit === 'string' ? body.unit.replace(/\s+/g, '').toLowerCase() : '';
  if (unit !== 'eur/mwh') throw malformed(NAME, `unexpected unit ${JSON.stringify(body.unit)} (expected EUR / MWh)`);
  const starts = seconds.map((s) => {
    const n = finiteNumber(s);
    if (n === undefined || !Number.isInteger(n)) throw malformed(NAME, `timestamp ${JSON.stringify(s)} is not whole seconds`);
    return n * 1000;
  });
  let step = Infinity;
  for (let i = 1; i < starts.length; i++) {
    const d = (starts[i] ?? 0) - (starts[i - 1] ?? 0);
    if (d <= 0) throw malformed(NAME, 'timestamps are not in increasing order');
    step = Math.min(step, d);
  }
  const intervals: IntervalPrice[] = [];
  starts.forEach((start, i) => {
    const raw = prices[i];
    if (raw === null) return;
    const value = finiteNumber(raw);
    if (value === undefined || typeof raw !== 'number') throw malformed(NAME, `price ${JSON.stringify(raw)} is not a number`);
    const unit = start >= QUARTER_HOUR_MTU_FROM ? SLOT_MS : 4 * SLOT_MS;
    intervals.push({ start, end: start + Math.min(unit, step), price: toPerKwh(value, 'currency/MWh') });
  });
  return toSlots(NAME, intervals, from, to);
}

export function energyChartsProvider(zone: string, context: ProviderContext): PriceProvider {
  return {
    label: `${NAME} (${zone})`,
    sourceKey: `energy-charts:${zone}`,
    currency: 'EUR',
    publication: EU_DAY_AHEAD_PUBLICATION,
    history: true,
    async fetchRange(from, to, signal) {
      const url = energyChartsUrl(zone, from, to);
      let response: Response;
      try {
        response = await request(context.fetch, url, { headers: { accept: 'application/json' } }, { provider: NAME, ...(signal ? { signal } : {}), offline: context.offline?.() ?? false });
      } catch (error) {
        // The API answers 404 for a range it has no prices for (tomorrow before publication).
        if (error instanceof PriceError && error.kind === 'http' && error.details.status === 404) return [];
        throw error;
      }
      return parseEnergyCharts(parseJson(await readText(response, NAME), NAME), from, to);
    },
  };
}
