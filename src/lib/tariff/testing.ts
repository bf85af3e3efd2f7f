/**
 * Test support for the price layer: an injected fetch that answers from a handler and records
 * every request, failures as browsers show them, and builders of provider answers in their
 * documented shapes for whole days (DST days included).
 */
import type { FetchLike } from './providers/common';
import { SLOT_MS } from './slot';

export interface RecordedRequest {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

export type FakeFetch = FetchLike & { readonly requests: RecordedRequest[] };

/** A fetch that never touches the network: `handler` answers (or throws, as fetch does). */
export function fakeFetch(handler: (url: string, init: RequestInit | undefined) => Response | Promise<Response>): FakeFetch {
  const requests: RecordedRequest[] = [];
  const fn = async (url: string, init?: RequestInit): Promise<Response> => {
    requests.push({ url, init });
    return handler(url, init);
  };
  return Object.assign(fn, { requests });
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function textResponse(body: string, status = 200, contentType = 'application/xml'): Response {
  return new Response(body, { status, headers: { 'content-type': contentType } });
}

/** What a browser does when the server sends no CORS headers: the request fails, an opaque no-cors request succeeds. */
export function corsRefusingFetch(): FakeFetch {
  return fakeFetch((_url, init) => {
    if (init?.mode === 'no-cors') return new Response(null, { status: 200 });
    throw new TypeError('Failed to fetch');
  });
}

/** What a browser does offline: every request fails. */
export function unreachableFetch(): FakeFetch {
  return fakeFetch(() => {
    throw new TypeError('Failed to fetch');
  });
}

/** An Energy-Charts /price body: `prices` (EUR/MWh or null) every `stepMs` from `startMs`. */
export function energyChartsBody(startMs: number, stepMs: number, prices: readonly (number | null)[]): unknown {
  return {
    license_info: 'CC BY 4.0 (creativecommons.org/licenses/by/4.0) from Bundesnetzagentur | SMARD.de',
    unix_seconds: prices.map((_, i) => (startMs + i * stepMs) / 1000),
    price: prices,
    unit: 'EUR / MWh',
    deprecated: false,
  };
}

/** An ENTSO-E A44 document with one series of `prices` (EUR/MWh; undefined leaves the position out). */
export function entsoeA44(startMs: number, resolution: 'PT15M' | 'PT60M', prices: readonly (number | undefined)[], curveType: 'A01' | 'A03' = 'A01', eic = '10Y1001A1001A73I'): string {
  const step = resolution === 'PT15M' ? SLOT_MS : 4 * SLOT_MS;
  const end = startMs + prices.length * step;
  const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
  const points = prices
    .map((p, i) => (p === undefined ? '' : `      <Point>\n        <position>${i + 1}</position>\n        <price.amount>${p}</price.amount>\n      </Point>\n`))
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>test</mRID>
  <revisionNumber>1</revisionNumber>
  <type>A44</type>
  <period.timeInterval>
    <start>${iso(startMs)}</start>
    <end>${iso(end)}</end>
  </period.timeInterval>
  <TimeSeries>
    <mRID>1</mRID>
    <auction.type>A01</auction.type>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">${eic}</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">${eic}</out_Domain.mRID>
    <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>${curveType}</curveType>
    <Period>
      <timeInterval>
        <start>${iso(startMs)}</start>
        <end>${iso(end)}</end>
      </timeInterval>
      <resolution>${resolution}</resolution>
${points}    </Period>
  </TimeSeries>
</Publication_MarketDocument>
`;
}

/** A clock whose time moves only when the test says; timers fire in order. */
export class FakeClock {
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  constructor(public time: number) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** When the earliest pending timer fires, if any. */
  get nextTimerAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /** Moves the time to the earliest timer and fires it; false when none is pending. */
  fireNext(): boolean {
    let first: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (!first || entry[1].at < first[1].at) first = entry;
    if (!first) return false;
    this.timers.delete(first[0]);
    this.time = Math.max(this.time, first[1].at);
    first[1].fn();
    return true;
  }
}
