/**
 * Octopus Energy Agile (UK), public unit rates, no key:
 * `GET https://api.octopus.energy/v1/products/{product}/electricity-tariffs/E-1R-{product}-{region}/standard-unit-rates/?period_from=ISO&period_to=ISO&page_size=1500`
 * → `{"count": n, "next": url|null, "previous": url|null, "results": [{"value_exc_vat": 17.43, "value_inc_vat": 18.3015, "valid_from": "…Z", "valid_to": "…Z", "payment_method": null}]}`,
 * newest first, in pence per kWh, half-hourly; the next day appears about 16:00 UK time.
 */
import { PriceError } from '../errors';
import type { PriceSlot } from '../slot';
import { type IntervalPrice, isRecord, malformed, parseIsoInstant, parseJson, readText, request, toPerKwh, toSlots } from './common';
import type { PriceProvider, ProviderContext } from './provider';

const NAME = 'Octopus Agile';
const API = 'https://api.octopus.energy';
/** Grid supply point regions (no I or O). */
export const OCTOPUS_REGIONS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P'] as const;
/** Pages followed at most: 1500 rates a page is a month of half-hours. */
const MAX_PAGES = 24;

export interface OctopusOptions {
  /** Product code, e.g. AGILE-24-10-01. */
  readonly product: string;
  readonly region: string;
  /** Which rate to take: without VAT (the tariff then adds 5 %) or with it (the tariff's VAT is 0). */
  readonly vat: 'excluded' | 'included';
}

export function octopusUrl(options: OctopusOptions, from: number, to: number): string {
  const tariff = `E-1R-${options.product}-${options.region}`;
  const query = new URLSearchParams({ period_from: new Date(from).toISOString(), period_to: new Date(to).toISOString(), page_size: '1500' });
  return `${API}/v1/products/${encodeURIComponent(options.product)}/electricity-tariffs/${encodeURIComponent(tariff)}/standard-unit-rates/?${query}`;
}

/** One page: its slots and the next page's URL, if any. */
export function parseOctopusPage(body: unknown, vat: OctopusOptions['vat'], from?: number, to?: number): { slots: PriceSlot[]; next: string | null } {
  if (!isRecord(body) || !Array.isArray(body.results)) throw malformed(NAME, 'no results array');
  const next = body.next;
  if (next !== null && next !== undefined && typeof next !== 'string') throw malformed(NAME, 'next is not a URL');
  const field = vat === 'included' ? 'value_inc_vat' : 'value_exc_vat';
  const intervals: IntervalPrice[] = body.results.map((entry: unknown, i) => {
    if (!isRecord(entry)) throw malformed(NAME, `rate ${i} is not an object`);
    const start = parseIsoInstant(entry.valid_from);
    const end = parseIsoInstant(entry.valid_to);
    const value = entry[field];
    if (start === undefined) throw malformed(NAME, `rate ${i} has no valid_from time`);
    if (end === undefined) throw malformed(NAME, `rate ${i} has no valid_to time (not an Agile product?)`);
    if (typeof value !== 'number') throw malformed(NAME, `rate ${i} has no ${field}`);
    return { start, end, price: toPerKwh(value, 'cent/kWh') };
  });
  return { slots: toSlots(NAME, intervals, from, to), next: typeof next === 'string' ? next : null };
}

export function octopusProvider(options: OctopusOptions, context: ProviderContext): PriceProvider {
  return {
    label: `${NAME} (${options.product}, region ${options.region})`,
    sourceKey: `octopus:${options.product}:${options.region}:${options.vat}`,
    currency: 'GBP',
    publication: { hour: 16, minute: 0, timeZone: 'Europe/London' },
    history: true,
    async fetchRange(from, to, signal) {
      const all = new Map<number, PriceSlot>();
      let url: string | null = octopusUrl(options, from, to);
      for (let page = 0; url !== null; page++) {
        if (page === MAX_PAGES) throw new PriceError('malformed', `${NAME} kept paginating past ${MAX_PAGES} pages; nothing was stored.`);
        if (!url.startsWith(API + '/')) throw malformed(NAME, `the next page points away from ${API}`);
        const response = await request(context.fetch, url, { headers: { accept: 'application/json' } }, { provider: NAME, ...(signal ? { signal } : {}), offline: context.offline?.() ?? false });
        const parsed = parseOctopusPage(parseJson(await readText(response, NAME), NAME), options.vat, from, to);
        for (const slot of parsed.slots) {
          const known = all.get(slot.start);
          if (known && known.price !== slot.price) throw malformed(NAME, `two different rates for ${new Date(slot.start).toISOString()}`);
          all.set(slot.start, slot);
        }
        url = parsed.next;
      }
      return [...all.values()].sort((a, b) => a.start - b.start);
    },
  };
}
