import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { baseLoadHistory, blendWithNow, predictBaseLoad } from './base-load';
import { cogenForecast, cogenLiveFromMeter } from './cogenerator';
import { tariffSlots } from '../tariff/price-service';
import { ITALIAN_F123_EXAMPLE } from '../tariff/tariff';
import { alignPower, alignPrices, buildPlanInputs, tariffPrices } from './inputs';
import { localClock, localToUtc } from './local-time';

const DAY = 86_400_000;
// Monday 2026-03-02 00:00 in Rome is 2026-03-01 23:00 UTC
const MONDAY = Date.UTC(2026, 2, 1, 23, 0);

describe('local time', () => {
  it('knows the weekday and time on the wall, across a clock change', () => {
    const rome = localClock('Europe/Rome');
    expect(rome(MONDAY)).toEqual({ weekday: 0, minuteOfDay: 0, date: '2026-03-02' });
    // 29 March 2026: clocks go forward at 02:00
    expect(rome(Date.UTC(2026, 2, 29, 1, 0)).minuteOfDay).toBe(3 * 60);
    expect(localToUtc('2026-03-29 03:30', 'Europe/Rome')).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(localToUtc('2026-07-01 12:00:00', 'Europe/Rome')).toBe(Date.UTC(2026, 6, 1, 10, 0));
    expect(() => localToUtc('yesterday', 'Europe/Rome')).toThrow(/not a local date/);
    expect(() => localClock('Mars/Olympus')).toThrow();
  });
});

describe('base load prediction', () => {
  // Four weeks: weekdays 300 W with a 2 kW dinner at 19:00 local, Sundays 800 W all day.
  const weeks = 4;
  const start = MONDAY;
  const rome = localClock('Europe/Rome');
  const watts = Array.from({ length: weeks * 7 * 96 }, (_, i) => {
    const t = rome(start + i * SLOT_MS);
    if (t.weekday === 6) return 800;
    return t.minuteOfDay >= 19 * 60 && t.minuteOfDay < 20 * 60 ? 2000 : 300;
  });
  const history = { start, watts };
  // a Monday again, after the clocks went forward: the profile follows the wall clock
  const future = localToUtc('2026-03-30 00:00', 'Europe/Rome');

  it('follows the same weekday and local time', () => {
    const p = predictBaseLoad(history, future, 7 * 96, { timeZone: 'Europe/Rome' });
    expect(p.source.every((s) => s === 'weekday')).toBe(true);
    expect(p.watts[19 * 4]).toBe(2000);
    expect(p.watts[12 * 4]).toBe(300);
    expect(p.watts[6 * 96 + 40]).toBe(800); // Sunday
  });

  it('falls back to the same time of day, then to the mean, and says so', () => {
    const twoDays = { start, watts: watts.slice(0, 2 * 96) };
    const p = predictBaseLoad(twoDays, start + 3 * DAY, 96, { timeZone: 'Europe/Rome' });
    expect(new Set(p.source)).toEqual(new Set(['daily']));
    expect(p.watts[19 * 4]).toBe(2000);
    const gaps = { start, watts: [500, null, Number.NaN, 700] };
    const q = predictBaseLoad(gaps, start + 30 * DAY, 2, { timeZone: 'Europe/Rome' });
    expect(q).toEqual({ watts: [600, 600], source: ['mean', 'mean'] });
    expect(predictBaseLoad({ start, watts: [] }, start, 1, { timeZone: 'UTC' })).toEqual({ watts: [0], source: ['none'] });
  });

  it('takes out the deferrable loads, blends in the present', () => {
    const site = { start, watts: [1000, 2500, null] };
    const washer = { start, watts: [0, 2000, 0] };
    expect(baseLoadHistory(site, [washer]).watts).toEqual([1000, 500, null]);
    expect(blendWithNow([300, 300, 300, 300, 300], 1300)).toEqual([1300, 1050, 800, 550, 300]);
  });
});

describe('co-generator', () => {
  const unit = { ratedElectricW: 1000, ratedThermalW: 2500 };
  const t0 = Date.UTC(2026, 0, 10, 6, 0);
  it('gives electricity in proportion to the heat asked for', () => {
    expect(cogenForecast(unit, { kind: 'thermal', start: t0, thermalW: [5000, 1250, 0] }, t0, 3)).toEqual([1000, 500, 0]);
    const sched = cogenForecast(unit, { kind: 'schedule', periods: [{ start: t0 + 5 * 60_000, end: t0 + SLOT_MS * 2, level: 0.6 }] }, t0, 3);
    expect(sched.map(Math.round)).toEqual([400, 600, 0]);
  });
  it('trusts its meter: what it gives now, nothing while it is in fault', () => {
    const live = cogenLiveFromMeter(-850, true);
    expect(live).toEqual({ outputW: 850, status: 'running' });
    expect(cogenForecast(unit, { kind: 'thermal', start: t0, thermalW: [2500, 2500] }, t0, 2, live)).toEqual([850, 1000]);
    expect(cogenForecast(unit, { kind: 'thermal', start: t0, thermalW: [2500, 2500] }, t0, 2, cogenLiveFromMeter(0, true, true))).toEqual([0, 0]);
    expect(() => cogenForecast({ ratedElectricW: 0, ratedThermalW: 1 }, { kind: 'thermal', start: t0, thermalW: [] }, t0, 1)).toThrow(/positive/);
  });
});

describe('plan inputs', () => {
  const t0 = Date.UTC(2026, 0, 10, 12, 0);
  it('aligns prices by time, splits hourly prices into quarters, fills the unknown and says so', () => {
    const hourly = [{ start: t0, end: t0 + 3600_000, price: 0.2 }];
    expect(alignPrices(hourly, t0, 5).price).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
    expect(alignPrices(hourly, t0, 5, () => 0.15)).toEqual({ price: [0.2, 0.2, 0.2, 0.2, 0.15], estimated: 1 });
    const yesterday = [{ start: t0 - 86_400_000 + 4 * SLOT_MS, end: t0 - 86_400_000 + 5 * SLOT_MS, price: 0.31 }, ...hourly];
    expect(alignPrices(yesterday, t0, 5).price[4]).toBe(0.31);
    expect(() => alignPrices([], t0, 1)).toThrow(/no price known/);
  });

  it('plans on the all-in price of the tariff, by F-band when there is no spot price', () => {
    // Wednesday 2026-01-14: 07:45 local is F2, 08:00 F1
    const from = Date.UTC(2026, 0, 14, 6, 45);
    const { prices, feedIn } = tariffPrices(tariffSlots(ITALIAN_F123_EXAMPLE, [], from, from + 2 * SLOT_MS));
    const vat = 1.1;
    expect(prices.map((p) => p.price)).toEqual([(0.128 + 0.045 + 0.0227) * vat, (0.135 + 0.045 + 0.0227) * vat].map((v) => expect.closeTo(v, 9)));
    expect(feedIn.map((p) => p.price)).toEqual([0.05, 0.05]);
  });

  it('averages forecast power over each slot and leaves uncovered slots undefined', () => {
    const solar = [{ start: t0, end: t0 + 3600_000, watts: 1200 }, { start: t0 + 3600_000, end: t0 + 3600_000 + 5 * 60_000, watts: 600 }];
    expect(alignPower(solar, t0, 5)).toEqual([1200, 1200, 1200, 1200, undefined]);
    const built = buildPlanInputs({ now: t0 + 7 * 60_000, until: t0 + 6 * SLOT_MS, prices: [{ start: t0, end: t0 + 4 * SLOT_MS, price: 0.1 }], solar, baseW: [1, 2, 3, 4, 5, 6, 7], importLimitW: (ms) => (ms >= t0 + 3600_000 ? 6000 : 3300), feedIn: 0.05 });
    expect(built.inputs.start).toBe(t0);
    expect(built.inputs.solarW).toEqual([1200, 1200, 1200, 1200, 0, 0]);
    expect(built.inputs.importLimitW).toEqual([3300, 3300, 3300, 3300, 6000, 6000]);
    expect(built.inputs.baseW).toEqual([1, 2, 3, 4, 5, 6]);
    expect(built.notes).toEqual(['2 of 6 slots have no published price yet; they use the previous day', '2 of 6 slots have no solar forecast; they count no solar']);
  });
});
