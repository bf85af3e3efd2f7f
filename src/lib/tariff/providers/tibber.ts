/**
 * Tibber, with the user's personal token, GraphQL:
 * `POST https://api.tibber.com/v1-beta/gql`, `Authorization: Bearer <token>`, body `{"query": …}`
 * → `{"data": {"viewer": {"homes": [{"id": "…", "currentSubscription": {"priceInfo": {"today": [{"total", "energy", "tax", "startsAt", "currency", "level"}], "tomorrow": […]}}}]}}}`
 * or `{"errors": [{"message": "…", "extensions": {"code": "UNAUTHENTICATED"}}]}`. `energy` is the
 * spot part, `total` adds Tibber's taxes and VAT; `startsAt` is ISO with an offset. Only today and
 * tomorrow are offered.
 */
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { type IntervalPrice, isRecord, malformed, parseIsoInstant, parseJson, readText, request, toSlots } from './common';
import type { PriceProvider, ProviderContext } from './provider';

const NAME = 'Tibber';
export const TIBBER_URL = 'https://api.tibber.com/v1-beta/gql';
const FIELDS = 'total energy tax startsAt currency';
export const TIBBER_QUERY = `{viewer{homes{id currentSubscription{priceInfo(resolution: QUARTER_HOURLY){today{${FIELDS}} tomorrow{${FIELDS}}}}}}}`;

export interface TibberOptions {
  readonly token: string;
  /** Which home, when the account has several; the first with a subscription otherwise. */
  readonly homeId?: string;
  /** `energy` (spot; the tariff adds markup, fees and VAT) or `total` (Tibber's all-in price; the tariff adds nothing). */
  readonly field: 'energy' | 'total';
  readonly currency: string;
}

export function parseTibber(body: unknown, options: Pick<TibberOptions, 'homeId' | 'field' | 'currency'>, from?: number, to?: number): PriceSlot[] {
  if (!isRecord(body)) throw malformed(NAME, 'expected a JSON object');
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const first: unknown = body.errors[0];
    const message = isRecord(first) && typeof first.message === 'string' ? first.message : 'unknown error';
    const code = isRecord(first) && isRecord(first.extensions) && typeof first.extensions.code === 'string' ? first.extensions.code : '';
    if (code === 'UNAUTHENTICATED' || /token/i.test(message)) throw new PriceError('auth', `${NAME} refused the token: ${message}. Check the token in the settings.`);
    throw new PriceError('http', `${NAME} answered with an error: ${message}${code ? ` (${code})` : ''}.`);
  }
  const viewer = isRecord(body.data) ? body.data.viewer : undefined;
  if (!isRecord(viewer) || !Array.isArray(viewer.homes)) throw malformed(NAME, 'no data.viewer.homes');
  const homes = viewer.homes.filter(isRecord);
  const home = options.homeId ? homes.find((h) => h.id === options.homeId) : homes.find((h) => isRecord(h.currentSubscription));
  if (!home) {
    throw new PriceError('config', options.homeId ? `${NAME} has no home with id ${options.homeId} on this account.` : `${NAME}: no home on this account has an active subscription.`);
  }
  const subscription = home.currentSubscription;
  if (!isRecord(subscription)) throw new PriceError('config', `${NAME}: the home has no active subscription, so it has no prices.`);
  const info = subscription.priceInfo;
  if (!isRecord(info)) throw malformed(NAME, 'no priceInfo');
  const entries: unknown[] = [];
  for (const day of ['today', 'tomorrow'] as const) {
    const list = info[day];
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) throw malformed(NAME, `${day} is not a list`);
    entries.push(...list);
  }
  const starts = entries.map((entry, i) => {
    if (!isRecord(entry)) throw malformed(NAME, `price ${i} is not an object`);
    const start = parseIsoInstant(entry.startsAt);
    if (start === undefined) throw malformed(NAME, `price ${i} has no startsAt time`);
    return start;
  });
  // Entries carry a start only: each lasts until the series' step (15 minutes, or an hour when the
  // account only has hourly prices).
  let step = Infinity;
  const sorted = [...starts].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    const d = (sorted[i] ?? 0) - (sorted[i - 1] ?? 0);
    if (d > 0) step = Math.min(step, d);
  }
  if (step === Infinity) step = SLOT_MS;
  const intervals: IntervalPrice[] = entries.map((entry, i) => {
    const record = entry as Record<string, unknown>;
    const value = record[options.field];
    if (typeof value !== 'number') throw malformed(NAME, `price ${i} has no ${options.field}`);
    if (record.currency !== undefined && record.currency !== options.currency) throw new PriceError('config', `${NAME} prices are in ${String(record.currency)}, the settings say ${options.currency}.`);
    const start = starts[i] ?? 0;
    return { start, end: start + step, price: value };
  });
  return toSlots(NAME, intervals, from, to);
}

export function tibberProvider(options: TibberOptions, context: ProviderContext): PriceProvider {
  return {
    label: NAME,
    sourceKey: `tibber:${options.homeId ?? 'first'}:${options.field}`,
    currency: options.currency,
    publication: { hour: 13, minute: 15, timeZone: 'Europe/Berlin' },
    history: false,
    async fetchRange(from, to, signal) {
      if (!options.token.trim()) throw new PriceError('config', `${NAME} needs your personal token (developer.tibber.com); none is set.`);
      const response = await request(
        context.fetch,
        TIBBER_URL,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token.trim()}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ query: TIBBER_QUERY }),
        },
        // GraphQL errors (a refused token among them) come with HTTP 400: the body says why.
        { provider: NAME, ...(signal ? { signal } : {}), offline: context.offline?.() ?? false, passStatus: (status) => status === 400 },
      );
      const slots = parseTibber(parseJson(await readText(response, NAME), NAME), options, from, to);
      if (!response.ok) throw new PriceError('http', `${NAME} answered HTTP ${response.status} without saying why.`, { status: response.status });
      return slots;
    },
  };
}
