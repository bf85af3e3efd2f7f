/**
 * ENTSO-E Transparency Platform, day-ahead prices (document A44), with the user's token:
 * `GET https://web-api.tp.entsoe.eu/api?securityToken=…&documentType=A44&in_Domain=<EIC>&out_Domain=<EIC>&periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm` (UTC)
 * → XML `Publication_MarketDocument` › `TimeSeries` (`currency_Unit.name` EUR, `price_Measure_Unit.name` MWH,
 * `curveType` A01 or A03) › `Period` (`timeInterval` start/end, `resolution` PT15M/PT30M/PT60M) › `Point`
 * (`position` from 1, `price.amount` EUR/MWh). With curve type A03 a position left out repeats the
 * previous price. No data, or a bad request, comes as `Acknowledgement_MarketDocument` › `Reason` › `text`.
 * The API sends no CORS headers, so a browser needs a proxy that adds them; the settings take its URL.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { isRecord, malformed, parseIsoInstant, readText, request, toPerKwh, toSlots } from './common';
import { ENTSOE_NAME, entsoeInfo } from './entsoe-zones';
import type { PriceProvider, ProviderContext } from './provider';

const NAME = ENTSOE_NAME;
export const ENTSOE_URL = 'https://web-api.tp.entsoe.eu/api';

export { ENTSOE_ZONES } from './entsoe-zones';

/** ENTSO-E acknowledges every refusal with reason 999; only its text tells "no data yet" from a bad request. */
const NO_MATCHING_DATA = /no matching data/i;

export interface EntsoeOptions {
  readonly token: string;
  /** EIC code of the bidding zone. */
  readonly eic: string;
  /** A proxy that forwards to ENTSO-E and adds CORS headers; it replaces ENTSOE_URL, query kept. */
  readonly proxyUrl?: string;
}

const compact = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace(/[-:T]/g, '');

export function entsoeUrl(options: EntsoeOptions, from: number, to: number): string {
  const query = new URLSearchParams({
    securityToken: options.token.trim(),
    documentType: 'A44',
    in_Domain: options.eic,
    out_Domain: options.eic,
    periodStart: compact(from),
    periodEnd: compact(to),
  });
  const base = options.proxyUrl?.trim() || ENTSOE_URL;
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: false,
  isArray: (name) => name === 'TimeSeries' || name === 'Period' || name === 'Point' || name === 'Reason',
});

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Minutes of an ISO 8601 duration the A44 uses: PT15M, PT30M, PT60M, PT1H. */
function resolutionMs(value: unknown): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(text(value) ?? '');
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  const ms = (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60_000;
  return ms > 0 && ms % SLOT_MS === 0 && ms <= 24 * 3_600_000 ? ms : undefined;
}

interface SeriesPrices {
  readonly resolution: number;
  readonly sequence: number;
  readonly prices: Map<number, number>;
}

/**
 * The slots of an A44 document. Several series may cover the same slots (one per resolution, or
 * per classification sequence): the finest resolution wins, then the lowest sequence position,
 * as the market publishes the 15-minute result as the first.
 */
export function parseEntsoe(xml: string, from?: number, to?: number): PriceSlot[] {
  if (xml.trim() === '') throw malformed(NAME, 'the body is empty');
  if (XMLValidator.validate(xml) !== true) throw malformed(NAME, 'the body is not well-formed XML');
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch {
    throw malformed(NAME, 'the body is not well-formed XML');
  }
  if (!isRecord(doc)) throw malformed(NAME, 'no document');
  const ack = doc.Acknowledgement_MarketDocument;
  if (isRecord(ack)) {
    const reason = Array.isArray(ack.Reason) ? ack.Reason[0] : undefined;
    const code = isRecord(reason) ? text(reason.code) : undefined;
    const why = isRecord(reason) ? text(reason.text) : undefined;
    if (why !== undefined && NO_MATCHING_DATA.test(why)) return [];
    throw new PriceError('http', `${NAME} declined the request${why ? `: ${why}` : ''}${code ? ` (reason ${code})` : ''}.`);
  }
  const root = doc.Publication_MarketDocument;
  if (!isRecord(root)) throw malformed(NAME, 'neither a Publication_MarketDocument nor an Acknowledgement_MarketDocument');
  const series: SeriesPrices[] = [];
  const timeSeries = root.TimeSeries === undefined ? [] : root.TimeSeries;
  if (!Array.isArray(timeSeries)) throw malformed(NAME, 'TimeSeries is not a list');
  timeSeries.forEach((ts: unknown, s) => {
    if (!isRecord(ts)) throw malformed(NAME, `TimeSeries ${s + 1} is empty`);
    const currency = text(ts['currency_Unit.name']);
    const unit = text(ts['price_Measure_Unit.name']);
    if (currency !== 'EUR') throw malformed(NAME, `TimeSeries ${s + 1} is in ${currency ?? 'no currency'}, not EUR`);
    if (unit !== 'MWH') throw malformed(NAME, `TimeSeries ${s + 1} is per ${unit ?? 'no unit'}, not per MWH`);
    const curve = text(ts.curveType) ?? 'A01';
    if (curve !== 'A01' && curve !== 'A03') throw malformed(NAME, `TimeSeries ${s + 1} has curve type ${curve}`);
    const sequence = Number(text(ts['classificationSequence_AttributeInstanceComponent.position']) ?? '1');
    const periods = ts.Period ?? [];
    if (!Array.isArray(periods)) throw malformed(NAME, `TimeSeries ${s + 1} has no Period list`);
    for (const period of periods) {
      if (!isRecord(period) || !isRecord(period.timeInterval)) throw malformed(NAME, `a Period of TimeSeries ${s + 1} has no timeInterval`);
      const start = parseIsoInstant(text(period.timeInterval.start));
      const end = parseIsoInstant(text(period.timeInterval.end));
      const resolution = resolutionMs(period.resolution);
      if (start === undefined || end === undefined || end <= start) throw malformed(NAME, `a Period of TimeSeries ${s + 1} has no valid timeInterval`);
      if (resolution === undefined) throw malformed(NAME, `a Period of TimeSeries ${s + 1} has resolution ${JSON.stringify(text(period.resolution))}`);
      if ((end - start) % resolution !== 0) throw malformed(NAME, `a Period of TimeSeries ${s + 1} is not a whole number of ${resolution / 60_000}-minute steps`);
      const count = (end - start) / resolution;
      const byPosition = new Map<number, number>();
      for (const point of Array.isArray(period.Point) ? period.Point : []) {
        if (!isRecord(point)) throw malformed(NAME, 'a Point is empty');
        const positionText = text(point.position) ?? '';
        const amountText = text(point['price.amount']) ?? '';
        if (!/^\d+$/.test(positionText)) throw malformed(NAME, `a Point has position ${JSON.stringify(positionText)}`);
        if (!/^-?\d+(?:\.\d+)?$/.test(amountText)) throw malformed(NAME, `the Point at position ${positionText} has price ${JSON.stringify(amountText)}`);
        const position = Number(positionText);
        if (position < 1 || position > count) throw malformed(NAME, `position ${position} lies outside its Period of ${count} steps`);
        if (byPosition.has(position)) throw malformed(NAME, `position ${position} appears twice`);
        byPosition.set(position, toPerKwh(Number(amountText), 'currency/MWh'));
      }
      const prices = new Map<number, number>();
      let previous: number | undefined;
      for (let position = 1; position <= count; position++) {
        const own = byPosition.get(position);
        // A03: a position left out repeats the previous one; A01: it is a gap.
        const price = own ?? (curve === 'A03' ? previous : undefined);
        previous = price;
        if (price === undefined) continue;
        const t0 = start + (position - 1) * resolution;
        for (let t = t0; t < t0 + resolution; t += SLOT_MS) prices.set(t, price);
      }
      series.push({ resolution, sequence: Number.isFinite(sequence) ? sequence : 1, prices });
    }
  });
  series.sort((a, b) => a.resolution - b.resolution || a.sequence - b.sequence);
  const chosen = new Map<number, number>();
  for (const one of series) for (const [t, price] of one.prices) if (!chosen.has(t)) chosen.set(t, price);
  return toSlots(NAME, [...chosen].map(([start, price]) => ({ start, end: start + SLOT_MS, price })), from, to);
}

export function entsoeProvider(options: EntsoeOptions, context: ProviderContext): PriceProvider {
  return {
    ...entsoeInfo(options.eic),
    async fetchRange(from, to, signal) {
      if (!options.token.trim()) throw new PriceError('config', `${NAME} needs your security token (transparency.entsoe.eu, Account settings); none is set.`);
      const response = await request(context.fetch, entsoeUrl(options, from, to), { headers: { accept: 'application/xml' } }, {
        provider: NAME,
        ...(signal ? { signal } : {}),
        offline: context.offline?.() ?? false,
        corsAdvice: options.proxyUrl
          ? `The proxy at ${options.proxyUrl} must add an Access-Control-Allow-Origin header.`
          : 'Set a proxy URL in the price settings (a small forwarder that adds CORS headers), or choose Energy-Charts, which serves the same day-ahead prices without a token.',
        // The "no data" acknowledgement can come with HTTP 400: read it.
        passStatus: (status) => status === 400,
      });
      const body = await readText(response, NAME);
      // Any acknowledgement but "no data" throws here; a 400 with slots in it is not ENTSO-E.
      const slots = parseEntsoe(body, from, to);
      if (!response.ok && slots.length > 0) throw new PriceError('http', `${NAME} answered HTTP ${response.status}.`, { status: response.status });
      return slots;
    },
  };
}
