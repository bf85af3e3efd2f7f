/**
 * aWATTar (Germany, Austria), EPEX day-ahead, no token, fair use 100 requests a day:
 * `GET https://api.awattar.de/v1/marketdata?start=<ms>&end=<ms>` (or api.awattar.at) →
 * `{"object": "list", "data": [{"start_timestamp": ms, "end_timestamp": ms, "marketprice": 42.09, "unit": "Eur/MWh"}], "url": "/de/v1/marketdata"}`.
 * Each entry's own start and end say its length (hourly; quarter-hours if the API moves to them).
 */
import { PriceError } from '../errors';
import type { PriceSlot } from '../slot';
import { finiteNumber, type IntervalPrice, isRecord, malformed, parseJson, readText, request, toPerKwh, toSlots } from './common';
import { EU_DAY_AHEAD_PUBLICATION, type PriceProvider, type ProviderContext } from './provider';

const NAME = 'aWATTar';
export const AWATTAR_COUNTRIES = ['DE', 'AT'] as const;
export type AwattarCountry = (typeof AWATTAR_COUNTRIES)[number];

export function awattarUrl(country: AwattarCountry, from: number, to: number): string {
  return `https://api.awattar.${country.toLowerCase()}/v1/marketdata?start=${from}&end=${to}`;
}

export function parseAwattar(body: unknown, from?: number, to?: number): PriceSlot[] {
  if (!isRecord(body) || !Array.isArray(body.data)) throw malformed(NAME, 'no data array');
  const intervals: IntervalPrice[] = body.data.map((entry: unknown, i) => {
    if (!isRecord(entry)) throw malformed(NAME, `entry ${i} is not an object`);
    const start = finiteNumber(entry.start_timestamp);
    const end = finiteNumber(entry.end_timestamp);
    const price = entry.marketprice;
    if (start === undefined || end === undefined) throw malformed(NAME, `entry ${i} has no start_timestamp or end_timestamp`);
    if (typeof price !== 'number') throw malformed(NAME, `entry ${i} has no marketprice`);
    const unit = typeof entry.unit === 'string' ? entry.unit.replace(/\s+/g, '').toLowerCase() : '';
    if (unit !== 'eur/mwh') throw malformed(NAME, `entry ${i} has unit ${JSON.stringify(entry.unit)} (expected Eur/MWh)`);
    return { start, end, price: toPerKwh(price, 'currency/MWh') };
  });
  return toSlots(NAME, intervals, from, to);
}

export function awattarProvider(country: AwattarCountry, context: ProviderContext): PriceProvider {
  return {
    label: `${NAME} (${country})`,
    sourceKey: `awattar:${country}`,
    currency: 'EUR',
    publication: EU_DAY_AHEAD_PUBLICATION,
    history: true,
    async fetchRange(from, to, signal) {
      let response: Response;
      try {
        response = await request(context.fetch, awattarUrl(country, from, to), {}, { provider: NAME, ...(signal ? { signal } : {}), offline: context.offline?.() ?? false });
      } catch (error) {
        // aWATTar's error answers (the rate limit among them) carry no CORS headers, so in a
        // browser a refused request and an error look the same: treat it as the limit, and retry.
        if (error instanceof PriceError && error.kind === 'cors') {
          throw new PriceError('rate-limit', `${NAME} refused the request; its error answers carry no CORS headers, so this is most likely its fair-use limit (100 requests a day). Retrying later.`);
        }
        throw error;
      }
      return parseAwattar(parseJson(await readText(response, NAME), NAME), from, to);
    },
  };
}
