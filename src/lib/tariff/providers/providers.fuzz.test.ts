/**
 * Garbage in gives a PriceError, never another exception and never a slot off the grid; well-formed
 * answers give exactly the slots they state.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceError } from '../errors';
import { type PriceSlot, SLOT_MS } from '../slot';
import { parseAwattar } from './awattar';
import { quantisePrice } from './common';
import { parseEnergyCharts } from './energy-charts';
import { parseEntsoe } from './entsoe';
import { parsePriceFile } from './file';
import { parseNordPool } from './nord-pool';
import { parseOctopusPage } from './octopus';
import { parseTibber } from './tibber';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const RUNS = { numRuns: 400 };
const T0 = Date.UTC(2025, 9, 13, 22);

function onGrid(slots: readonly PriceSlot[]): void {
  let previous = -Infinity;
  for (const s of slots) {
    if (s.start % SLOT_MS !== 0 || s.end !== s.start + SLOT_MS || !(s.start > previous) || !Number.isFinite(s.price)) {
      throw new Error(`slot off the grid: ${JSON.stringify(s)}`);
    }
    previous = s.start;
  }
}

/** Runs a parser: it must return grid slots or throw a PriceError, nothing else. */
function typed(parse: () => PriceSlot[] | { slots: PriceSlot[] }): PriceSlot[] | undefined {
  let out: PriceSlot[] | { slots: PriceSlot[] };
  try {
    out = parse();
  } catch (error) {
    expect(error).toBeInstanceOf(PriceError);
    return undefined;
  }
  const slots = Array.isArray(out) ? out : out.slots;
  onGrid(slots);
  expect(slots).toBeInstanceOf(Array);
  return slots;
}

/** Anything JSON can carry, and objects shaped almost like each provider's. */
const anyJson = fc.jsonValue({ maxDepth: 5 });
const junk = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 2 }));
const slotIndex = fc.integer({ min: 0, max: 200 });

describe('parsers under fuzzing', () => {
  it('Energy-Charts: any JSON, and near-miss bodies', () => {
    fc.assert(fc.property(anyJson, (body) => void typed(() => parseEnergyCharts(body))), RUNS);
    const nearMiss = fc.record({
      unix_seconds: fc.array(fc.oneof(fc.integer({ min: T0 / 1000 - 1e6, max: T0 / 1000 + 1e6 }), junk), { maxLength: 20 }),
      price: fc.array(fc.oneof(fc.double({ min: -1000, max: 5000, noNaN: true }), junk), { maxLength: 20 }),
      unit: fc.constantFrom('EUR / MWh', 'EUR/MWh', 'EUR / kWh', 42),
    });
    fc.assert(fc.property(nearMiss, (body) => void typed(() => parseEnergyCharts(body))), RUNS);
  });

  it('Energy-Charts: a well-formed answer gives exactly its prices, each on its own slot', () => {
    const answer = fc.uniqueArray(slotIndex, { minLength: 2, maxLength: 60 }).chain((indexes) =>
      fc.tuple(fc.constant([...indexes].sort((a, b) => a - b)), fc.array(fc.option(fc.integer({ min: -50000, max: 400000 }).map((c) => c / 100), { nil: null }), { minLength: indexes.length, maxLength: indexes.length })),
    );
    fc.assert(
      fc.property(answer, ([indexes, prices]) => {
        const body = { unix_seconds: indexes.map((i) => (T0 + i * SLOT_MS) / 1000), price: prices, unit: 'EUR / MWh' };
        const slots = typed(() => parseEnergyCharts(body));
        expect(slots).toBeDefined();
        const expected = indexes.flatMap((i, k) => (prices[k] === null ? [] : [{ start: T0 + i * SLOT_MS, end: T0 + (i + 1) * SLOT_MS, price: quantisePrice((prices[k] ?? 0) / 1000) }]));
        expect(slots).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('aWATTar: any JSON and near misses', () => {
    fc.assert(fc.property(anyJson, (body) => void typed(() => parseAwattar(body))), RUNS);
    const entry = fc.record({
      start_timestamp: fc.oneof(slotIndex.map((i) => T0 + i * SLOT_MS), junk),
      end_timestamp: fc.oneof(slotIndex.map((i) => T0 + i * SLOT_MS), junk),
      marketprice: fc.oneof(fc.double({ noNaN: false }), junk),
      unit: fc.constantFrom('Eur/MWh', 'EUR/MWh', 'ct/kWh'),
    });
    fc.assert(fc.property(fc.record({ object: fc.constant('list'), data: fc.array(entry, { maxLength: 10 }) }), (body) => void typed(() => parseAwattar(body))), RUNS);
  });

  it('aWATTar: hours become four slots at the hour price', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 47 }), { minLength: 1, maxLength: 24 }), fc.integer({ min: -10000, max: 100000 }), (hours, cents) => {
        const data = hours.map((h) => ({ start_timestamp: T0 + h * 3_600_000, end_timestamp: T0 + (h + 1) * 3_600_000, marketprice: cents / 100, unit: 'Eur/MWh' }));
        const slots = typed(() => parseAwattar({ object: 'list', data })) ?? [];
        expect(slots).toHaveLength(hours.length * 4);
        for (const s of slots) expect(hours).toContain(Math.floor((s.start - T0) / 3_600_000));
        for (const s of slots) expect(s.price).toBe(quantisePrice(cents / 100 / 1000));
      }),
      RUNS,
    );
  });

  it('Octopus, Nord Pool and Tibber: any JSON and near misses', () => {
    const isoish = fc.oneof(slotIndex.map((i) => new Date(T0 + i * 30 * 60_000).toISOString()), fc.string(), junk);
    const octopus = fc.record({ count: junk, next: fc.oneof(fc.constant(null), fc.string(), junk), results: fc.array(fc.record({ value_exc_vat: fc.oneof(fc.double(), junk), value_inc_vat: fc.oneof(fc.double(), junk), valid_from: isoish, valid_to: isoish }), { maxLength: 8 }) });
    fc.assert(fc.property(fc.oneof(anyJson, octopus), (body) => void typed(() => parseOctopusPage(body, 'excluded'))), RUNS);
    const nordPool = fc.record({ currency: fc.constantFrom('EUR', 'SEK', undefined), multiAreaEntries: fc.array(fc.record({ deliveryStart: isoish, deliveryEnd: isoish, entryPerArea: fc.oneof(fc.record({ SE3: fc.oneof(fc.double(), junk) }), junk) }), { maxLength: 8 }) });
    fc.assert(fc.property(fc.oneof(anyJson, nordPool), (body) => void typed(() => parseNordPool(body, 'SE3', 'EUR'))), RUNS);
    const entry = fc.record({ total: fc.oneof(fc.double(), junk), energy: fc.oneof(fc.double(), junk), startsAt: isoish, currency: fc.constantFrom('EUR', 'NOK', undefined) });
    const tibber = fc.record({ data: fc.record({ viewer: fc.record({ homes: fc.array(fc.record({ id: fc.constantFrom('a', 'b'), currentSubscription: fc.oneof(fc.constant(null), fc.record({ priceInfo: fc.record({ today: fc.oneof(fc.array(entry, { maxLength: 6 }), junk), tomorrow: fc.oneof(fc.array(entry, { maxLength: 6 }), junk) }) })) }), { maxLength: 3 }) }) }), errors: fc.oneof(fc.constant(undefined), fc.array(anyJson, { maxLength: 2 })) });
    fc.assert(fc.property(fc.oneof(anyJson, tibber), (body) => void typed(() => parseTibber(body, { field: 'energy', currency: 'EUR' }))), RUNS);
  });

  it('ENTSO-E: any text, and the real document cut, spliced and with its numbers replaced', () => {
    const doc = fixture('entsoe-a44-it-north.xml');
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void typed(() => parseEntsoe(text))), RUNS);
    const mutated = fc.oneof(
      fc.tuple(fc.nat(doc.length), fc.nat(60)).map(([at, n]) => doc.slice(0, at) + doc.slice(at + n)),
      fc.tuple(fc.nat(doc.length), fc.string({ maxLength: 20 })).map(([at, s]) => doc.slice(0, at) + s + doc.slice(at)),
      fc.tuple(fc.constantFrom('112.45', '104.02', '1', '3', 'PT15M', 'A03', '2025-10-13T22:00Z', 'EUR', 'MWH'), fc.oneof(fc.string({ maxLength: 8 }), fc.double().map(String), fc.integer().map(String))).map(([find, replace]) => doc.replace(find, replace)),
    );
    fc.assert(fc.property(mutated, (text) => void typed(() => parseEntsoe(text))), RUNS);
  });

  it('files: any text, and CSV rows of near-miss values', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void typed(() => parsePriceFile(text, { unit: 'currency/kWh', timeZone: 'Europe/Rome' }))), RUNS);
    const cell = fc.oneof(fc.integer().map(String), fc.double().map(String), slotIndex.map((i) => String((T0 + i * SLOT_MS) / 1000)), fc.constantFrom('2025-10-26 02:00', '2025-03-30 02:30', '2025-10-26T02:00:00+01:00', '', '"1,5"', 'abc'), fc.string({ maxLength: 6 }));
    const csv = fc.array(fc.tuple(cell, cell), { maxLength: 12 }).map((rows) => ['start;price', ...rows.map(([a, b]) => `${a};${b}`)].join('\n'));
    fc.assert(fc.property(csv, (text) => void typed(() => parsePriceFile(text, { unit: 'currency/MWh', timeZone: 'Europe/Rome' }))), RUNS);
  });

  it('Octopus and Nord Pool: well-formed answers give exactly their prices, spread over the grid', () => {
    // Octopus quotes half hours in p/kWh, Nord Pool quarter hours (or hours) in currency/MWh.
    const priced = (stepMs: number) => fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 30 }).chain((ks) => fc.tuple(fc.constant(ks), fc.array(fc.integer({ min: -20000, max: 200000 }), { minLength: ks.length, maxLength: ks.length }))).map(([ks, cents]) => ks.map((k, i) => ({ start: T0 + k * stepMs, end: T0 + (k + 1) * stepMs, value: (cents[i] ?? 0) / 100 })));
    const spread = (rows: { start: number; end: number; value: number }[], perKwh: (v: number) => number) =>
      rows.flatMap((r) => Array.from({ length: (r.end - r.start) / SLOT_MS }, (_, q) => ({ start: r.start + q * SLOT_MS, end: r.start + (q + 1) * SLOT_MS, price: quantisePrice(perKwh(r.value)) }))).sort((a, b) => a.start - b.start);
    const iso = (ms: number) => new Date(ms).toISOString();
    fc.assert(
      fc.property(priced(30 * 60_000), fc.constantFrom('excluded' as const, 'included' as const), (rows, vat) => {
        const field = vat === 'included' ? 'value_inc_vat' : 'value_exc_vat';
        const body = { count: rows.length, next: null, results: rows.map((r) => ({ [field]: r.value, valid_from: iso(r.start), valid_to: iso(r.end) })) };
        expect(typed(() => parseOctopusPage(body, vat))).toEqual(spread(rows, (v) => v / 100));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.constantFrom(SLOT_MS, 4 * SLOT_MS).chain(priced), (rows) => {
        const body = { currency: 'EUR', multiAreaEntries: rows.map((r) => ({ deliveryStart: iso(r.start), deliveryEnd: iso(r.end), entryPerArea: { SE3: r.value } })) };
        expect(typed(() => parseNordPool(body, 'SE3', 'EUR'))).toEqual(spread(rows, (v) => v / 1000));
      }),
      RUNS,
    );
  });

  it('files: slots written as CSV (any separator, epoch or ISO times) or JSON read back exactly', () => {
    const slots = fc.uniqueArray(slotIndex, { minLength: 2, maxLength: 40 }).chain((ks) => fc.tuple(fc.constant([...ks].sort((a, b) => a - b)), fc.array(fc.integer({ min: -5000, max: 90000 }), { minLength: ks.length, maxLength: ks.length })));
    const layout = fc.record({ sep: fc.constantFrom(',', ';', '\t'), time: fc.constantFrom('iso', 's', 'ms'), withEnd: fc.boolean(), json: fc.boolean() });
    fc.assert(
      fc.property(slots, layout, ([ks, milli], { sep, time, withEnd, json }) => {
        const at = (k: number) => T0 + k * SLOT_MS;
        const stamp = (ms: number) => (time === 'iso' ? new Date(ms).toISOString() : time === 's' ? String(ms / 1000) : String(ms));
        const price = (i: number) => (milli[i] ?? 0) / 1000;
        const text = json
          ? JSON.stringify(ks.map((k, i) => ({ start: stamp(at(k)), ...(withEnd ? { end: stamp(at(k + 1)) } : {}), price: price(i) })))
          : [['start', ...(withEnd ? ['end'] : []), 'price'].join(sep), ...ks.map((k, i) => [stamp(at(k)), ...(withEnd ? [stamp(at(k + 1))] : []), String(price(i))].join(sep))].join('\n');
        // Without an end column each price lasts the file's step: the smallest gap between starts.
        const step = withEnd ? 1 : Math.min(...ks.slice(1).map((k, i) => k - (ks[i] ?? 0)));
        const expected = ks.flatMap((k, i) => Array.from({ length: step }, (_, q) => ({ start: at(k + q), end: at(k + q + 1), price: quantisePrice(price(i)) })));
        const slotsRead = typed(() => parsePriceFile(text, { unit: 'currency/kWh', timeZone: 'Europe/Rome' }));
        // a step over a day is no price interval: the file is refused, whole
        expect(slotsRead).toEqual(step > 96 ? undefined : expected);
      }),
      RUNS,
    );
  });
});
