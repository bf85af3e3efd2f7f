/**
 * Nord Pool data portal, day-ahead by delivery area, no token:
 * `GET https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices?date=YYYY-MM-DD&market=DayAhead&deliveryArea=SE3&currency=EUR`
 * → `{"deliveryDateCET": "…", "version": n, "updatedAt": "…", "deliveryAreas": ["SE3"], "market": "DayAhead", "currency": "EUR",
 *    "multiAreaEntries": [{"deliveryStart": "…Z", "deliveryEnd": "…Z", "entryPerArea": {"SE3": 12.3}}]}`,
 * currency per MWh; one delivery day (CET) a request; 204 No Content before the day is published.
 */
import type { PriceSlot } from '../slot';
import { addDays, localDateOf } from '../zone';
import { type IntervalPrice, isRecord, malformed, parseIsoInstant, parseJson, readText, request, toPerKwh, toSlots } from './common';
import { EU_DAY_AHEAD_PUBLICATION, type PriceProvider, type ProviderContext } from './provider';

const NAME = 'Nord Pool';
export const NORD_POOL_AREAS = ['AT', 'BE', 'FR', 'GER', 'NL', 'PL', 'DK1', 'DK2', 'EE', 'FI', 'LT', 'LV', 'NO1', 'NO2', 'NO3', 'NO4', 'NO5', 'SE1', 'SE2', 'SE3', 'SE4', 'SYS', 'TEL', 'BG'] as const;
export const NORD_POOL_CURRENCIES = ['EUR', 'DKK', 'NOK', 'SEK', 'PLN', 'RON', 'BGN'] as const;

export function nordPoolUrl(area: string, currency: string, date: string): string {
  const query = new URLSearchParams({ date, market: 'DayAhead', deliveryArea: area, currency });
  return `https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices?${query}`;
}

export function parseNordPool(body: unknown, area: string, currency: string, from?: number, to?: number): PriceSlot[] {
  if (!isRecord(body) || !Array.isArray(body.multiAreaEntries)) throw malformed(NAME, 'no multiAreaEntries array');
  if (body.currency !== undefined && body.currency !== currency) throw malformed(NAME, `prices are in ${String(body.currency)}, ${currency} was asked for`);
  const intervals: IntervalPrice[] = [];
  body.multiAreaEntries.forEach((entry: unknown, i) => {
    if (!isRecord(entry)) throw malformed(NAME, `entry ${i} is not an object`);
    const start = parseIsoInstant(entry.deliveryStart);
    const end = parseIsoInstant(entry.deliveryEnd);
    if (start === undefined || end === undefined) throw malformed(NAME, `entry ${i} has no deliveryStart or deliveryEnd time`);
    if (!isRecord(entry.entryPerArea)) throw malformed(NAME, `entry ${i} has no entryPerArea`);
    const value = entry.entryPerArea[area];
    if (value === undefined || value === null) return; // the area has no price for this slot
    if (typeof value !== 'number') throw malformed(NAME, `entry ${i} has a price for ${area} that is not a number`);
    intervals.push({ start, end, price: toPerKwh(value, 'currency/MWh') });
  });
  return toSlots(NAME, intervals, from, to);
}

export function nordPoolProvider(area: string, currency: string, context: ProviderContext): PriceProvider {
  return {
    label: `${NAME} (${area}, ${currency})`,
    sourceKey: `nord-pool:${area}:${currency}`,
    currency,
    publication: EU_DAY_AHEAD_PUBLICATION,
    history: true,
    async fetchRange(from, to, signal) {
      const slots: PriceSlot[] = [];
      const last = localDateOf(to - 1, 'Europe/Berlin');
      for (let date = localDateOf(from, 'Europe/Berlin'); date <= last; date = addDays(date, 1)) {
        const response = await request(context.fetch, nordPoolUrl(area, currency, date), { headers: { accept: 'application/json' } }, { provider: NAME, ...(signal ? { signal } : {}), offline: context.offline?.() ?? false });
        if (response.status === 204) continue; // not published yet
        const text = await readText(response, NAME);
        if (text.trim() === '') continue;
        slots.push(...parseNordPool(parseJson(text, NAME), area, currency, from, to));
      }
      return slots;
    },
  };
}
