import { describe, expect, it } from 'vitest';
import { SINGLE_BAND } from './bands';
import { billingPeriodAt, billingPeriodOfMonth } from './period';
import { importPricePerKwh, ITALIAN_F123_EXAMPLE, needsSpotPrices, slotRates, type Tariff, validateTariff } from './tariff';

const dynamic: Tariff = {
  ...ITALIAN_F123_EXAMPLE,
  name: 'PUN-indexed',
  energy: { kind: 'dynamic', markupPerKwh: 0.012, fallback: { kind: 'time-of-use', perKwh: { F1: 0.14, F2: 0.13, F3: 0.11 } } },
  feedIn: { kind: 'spot', factor: 1, offsetPerKwh: -0.005, floorAtZero: true, fallbackPerKwh: 0.04 },
};

function issuesOf(input: unknown): Record<string, string> {
  const result = validateTariff(input);
  return result.ok ? {} : Object.fromEntries(result.issues.map((i) => [i.path, i.message]));
}

describe('tariff validation', () => {
  it('accepts the built-in example, a dynamic tariff and one survives JSON', () => {
    expect(validateTariff(ITALIAN_F123_EXAMPLE).ok).toBe(true);
    expect(validateTariff(dynamic).ok).toBe(true);
    expect(validateTariff(JSON.parse(JSON.stringify(dynamic))).ok).toBe(true);
  });

  it('names each wrong field with a sentence', () => {
    const issues = issuesOf({
      ...ITALIAN_F123_EXAMPLE,
      currency: 'euro',
      timeZone: 'Europe/Atlantis',
      energy: { kind: 'time-of-use', perKwh: { F1: 0.13, F2: '0.12', F4: 0.1 } },
      vatPercent: 122,
      fixedPerMonth: -1,
      billing: { periodMonths: 5, firstMonth: 0 },
    });
    expect(issues).toEqual({
      currency: 'The currency must be a three-letter ISO code such as EUR (got "euro")',
      timeZone: 'The time zone must be an IANA name such as Europe/Rome (got "Europe/Atlantis")',
      'energy.perKwh.F2': 'The energy price in band F2 must be a number (got "0.12")',
      'energy.perKwh.F3': 'The energy price in band F3 must be a number (got nothing)',
      'energy.perKwh.F4': 'The energy price has a price for F4, which is not a band of the schedule',
      vatPercent: 'The VAT rate (percent) must be between 0 and 100 (got 122)',
      fixedPerMonth: 'The fixed fee per month must be between 0 and 1000000 (got -1)',
      'billing.periodMonths': 'A billing period lasts 1, 2, 3, 4, 6, 12 months (got 5)',
      'billing.firstMonth': 'The month a billing period starts in must be 1 to 12 (got 0)',
    });
  });

  it('catches a price given per MWh or in cents, and bad band rules', () => {
    expect(issuesOf({ ...ITALIAN_F123_EXAMPLE, gridFees: { kind: 'fixed', perKwh: 45 } })['gridFees.perKwh']).toBe('The grid fee per kWh must be between 0 and 10 (got 45)');
    const rules = issuesOf({ ...ITALIAN_F123_EXAMPLE, bands: { ...ITALIAN_F123_EXAMPLE.bands, rules: [{ band: 'F1', days: [1], from: '22:00', to: '06:00' }, { band: 'F9', days: [0], from: '08:10', to: '09:00' }] } });
    expect(rules['bands.rules.0.to']).toMatch(/ends \(06:00\) before it starts \(22:00\); split a rule that crosses midnight/);
    expect(rules['bands.rules.1.band']).toMatch(/band "F9", which is not among F1, F2, F3/);
    expect(rules['bands.rules.1.days']).toMatch(/1 \(Monday\) to 7/);
    expect(rules['bands.rules.1.from']).toMatch(/quarter hour/);
    expect(issuesOf({ ...dynamic, feedIn: { kind: 'spot', factor: 1, offsetPerKwh: 0 } })).toEqual({
      'feedIn.floorAtZero': 'Say whether the feed-in compensation stops at zero when spot prices are negative (true or false)',
      'feedIn.fallbackPerKwh': 'The feed-in compensation used while no spot price is known must be a number (got nothing)',
    });
    expect(issuesOf(null)).toEqual({ '': 'A tariff must be an object' });
    expect(issuesOf({ ...ITALIAN_F123_EXAMPLE, version: 2 }).version).toMatch(/version 2/);
  });
});

describe('slot rates', () => {
  it('adds the markup to the spot price and indexes feed-in, with the floor at zero', () => {
    const r = slotRates(dynamic, 'F1', 0.1);
    expect(r).toEqual({ band: 'F1', energy: 0.112, energySource: 'spot', gridFee: 0.045, excise: 0.0227, feedIn: 0.095, feedInSource: 'spot' });
    expect(slotRates(dynamic, 'F2', -0.02).feedIn).toBe(0);
    expect(importPricePerKwh(r, 10)).toBeCloseTo((0.112 + 0.045 + 0.0227) * 1.1, 12);
  });

  it('falls back to the tariff when the spot price is unknown, and says so', () => {
    expect(slotRates(dynamic, 'F3', undefined)).toMatchObject({ energy: 0.11, energySource: 'fallback', feedIn: 0.04, feedInSource: 'fallback' });
    expect(slotRates(ITALIAN_F123_EXAMPLE, 'F2', undefined)).toMatchObject({ energy: 0.128, energySource: 'tariff' });
    expect(needsSpotPrices(dynamic)).toBe(true);
    expect(needsSpotPrices({ ...ITALIAN_F123_EXAMPLE, feedIn: { kind: 'fixed', perKwh: 0.05 }, bands: SINGLE_BAND, energy: { kind: 'fixed', perKwh: 0.2 } })).toBe(false);
  });
});

describe('billing periods', () => {
  it('aligns periods of several months on the first month', () => {
    const bimonthly = { timeZone: 'Europe/Rome', billing: { periodMonths: 2 as const, firstMonth: 1 } };
    expect(billingPeriodOfMonth('2025-04', bimonthly).months).toEqual(['2025-03', '2025-04']);
    expect(billingPeriodOfMonth('2025-05', bimonthly).months).toEqual(['2025-05', '2025-06']);
    const quarterly = { timeZone: 'Europe/Rome', billing: { periodMonths: 3 as const, firstMonth: 2 } };
    expect(billingPeriodOfMonth('2025-01', quarterly).months).toEqual(['2024-11', '2024-12', '2025-01']);
    const april = billingPeriodAt(Date.UTC(2025, 3, 10), { timeZone: 'Europe/Rome', billing: { periodMonths: 1, firstMonth: 1 } });
    expect(new Date(april.start).toISOString()).toBe('2025-03-31T22:00:00.000Z');
    expect(new Date(april.end).toISOString()).toBe('2025-04-30T22:00:00.000Z');
    // The first instant of a month in Rome is still the previous month in UTC.
    expect(billingPeriodAt(Date.UTC(2025, 3, 30, 22, 30), { timeZone: 'Europe/Rome', billing: { periodMonths: 1, firstMonth: 1 } }).months).toEqual(['2025-05']);
  });
});
