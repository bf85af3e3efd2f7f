/**
 * The solar forecast formats under fuzzing: any answer gives power slots on the grid or a
 * ForecastError, never another exception and never a hang (an answer spanning a century);
 * well-formed answers keep their energy.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../../tariff/slot';
import type { PowerSlot } from '../inputs';
import forecastSolarLocal from './fixtures/forecast-solar-local.json';
import openMeteoTurin from './fixtures/open-meteo-turin.json';
import { ForecastError } from './fetch';
import { parseForecastSolar } from './forecast-solar';
import { parseOpenMeteo } from './open-meteo';
import type { SolarSite } from './pv-model';

const RUNS = { numRuns: 500 };
const site: SolarSite = { latitude: 45.07, longitude: 7.69, arrays: [{ kwp: 4, tiltDeg: 30, azimuthDeg: 0 }] };
const T0 = Date.UTC(2026, 5, 10);

/** Runs a parser: slots on the grid in order with finite, non-negative power, or a ForecastError. */
function parsedOrRefused(parse: () => PowerSlot[]): PowerSlot[] | undefined {
  let slots: PowerSlot[];
  try {
    slots = parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ForecastError);
    return undefined;
  }
  let previous = -Infinity;
  for (const s of slots) {
    expect(Math.abs(s.start % SLOT_MS)).toBe(0);
    expect(s.end).toBe(s.start + SLOT_MS);
    expect(s.start).toBeGreaterThan(previous);
    expect(Number.isFinite(s.watts) && s.watts >= -1e-9).toBe(true);
    previous = s.start;
  }
  return slots;
}

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof(good, good, junk);
const instantKey = fc.oneof(
  fc.integer({ min: 0, max: 96 }).map((q) => new Date(T0 + q * SLOT_MS).toISOString()),
  fc.integer({ min: 0, max: 48 }).map((h) => `2026-06-10 ${String(h % 24).padStart(2, '0')}:00:00`),
  fc.constantFrom('1970-01-01T00:00:00Z', '2100-01-01T00:00:00+00:00', '2026-13-45 99:99:99', 'Z', '+0100', ''),
  fc.string({ maxLength: 25 }),
);

describe('solar forecasts under fuzzing', () => {
  it('Forecast.Solar: any JSON, and near misses of its answer, give slots or a ForecastError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => void parsedOrRefused(() => parseForecastSolar(body))), RUNS);
    const near = fc.record({
      result: maybe(fc.record({ watts: maybe(fc.dictionary(instantKey, maybe(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ noNaN: true }))), { maxKeys: 12 })) })),
      message: maybe(fc.record({ type: maybe(fc.constantFrom('success', 'error')), code: maybe(fc.constantFrom(0, 400, 429)), info: maybe(fc.record({ timezone: maybe(fc.constantFrom('Europe/Rome', 'UTC', 'Mars/Olympus', '')) })) })),
    });
    fc.assert(fc.property(near, (body) => void parsedOrRefused(() => parseForecastSolar(body))), RUNS);
  });

  it('Forecast.Solar: the linear power keeps its energy between its first and last instants on the grid', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 2, maxLength: 30 }), (watts) => {
        const hours = Object.fromEntries(watts.map((w, h) => [new Date(T0 + h * 3_600_000).toISOString(), w]));
        const slots = parsedOrRefused(() => parseForecastSolar({ result: { watts: hours }, message: { type: 'success', code: 0 } })) ?? [];
        expect(slots).toHaveLength((watts.length - 1) * 4);
        const wh = slots.reduce((e, s) => e + s.watts / 4, 0);
        const trapezoids = watts.slice(1).reduce((e, w, i) => e + (w + (watts[i] ?? 0)) / 2, 0);
        expect(wh).toBeCloseTo(trapezoids, 6);
      }),
      RUNS,
    );
  });

  it('Forecast.Solar: an answer spanning decades, or with powers no plane has, is refused at once', () => {
    const watts: Record<string, number> = {};
    for (let y = 0; y < 2000; y++) watts[new Date(Date.UTC(1970, 0, 1) + y * 15 * 86_400_000).toISOString()] = 100;
    expect(() => parseForecastSolar({ result: { watts }, message: { type: 'success' } })).toThrow(ForecastError);
    expect(parsedOrRefused(() => parseForecastSolar(forecastSolarLocal))?.length).toBeGreaterThan(0);
    // and powers no plane has, which would overflow the slot integrals to Infinity
    const huge = { [new Date(T0).toISOString()]: 1e308, [new Date(T0 + 3_600_000).toISOString()]: 1e308 };
    expect(() => parseForecastSolar({ result: { watts: huge }, message: { type: 'success' } })).toThrow(ForecastError);
  });

  it('Open-Meteo: any JSON, and its answer with times and values replaced, give slots or a ForecastError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => void parsedOrRefused(() => parseOpenMeteo(body, site))), RUNS);
    const block = openMeteoTurin.minutely_15 as Record<string, unknown[]>;
    const mutated = fc.record({ key: fc.constantFrom(...Object.keys(block)), at: fc.nat(200), value: fc.oneof(junk, fc.double(), fc.constantFrom(1e20, -1, 0.5, 1781049600 + 60)) }, { requiredKeys: ['key', 'at', 'value'] });
    fc.assert(
      fc.property(fc.array(mutated, { maxLength: 4 }), (changes) => {
        const copy: Record<string, unknown[]> = Object.fromEntries(Object.entries(block).map(([k, v]) => [k, [...v]]));
        for (const c of changes) {
          const list = copy[c.key] as unknown[];
          list[c.at % list.length] = c.value;
        }
        parsedOrRefused(() => parseOpenMeteo({ ...openMeteoTurin, minutely_15: copy }, site));
      }),
      RUNS,
    );
  });
});
