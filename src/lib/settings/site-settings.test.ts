import { describe, expect, it } from 'vitest';
import { ITALIAN_F123_EXAMPLE, ITALIAN_INDEXED_EXAMPLE } from '../tariff/tariff';
import { DEFAULT_SITE_SETTINGS, SettingsError, validateSiteSettings } from './site-settings';

describe('site settings', () => {
  it('turn the flat price of settings written before tariffs into a fixed tariff at that price', () => {
    const stored = { contractedPowerW: 4500, currency: 'CHF', flatPricePerKwh: 0.31, location: undefined, pin: undefined };
    const settings = validateSiteSettings(stored);
    expect(settings.contractedPowerW).toBe(4500);
    expect(settings.tariff).toMatchObject({ currency: 'CHF', energy: { kind: 'fixed', perKwh: 0.31 }, gridFees: { kind: 'fixed', perKwh: 0 }, excisePerKwh: 0, vatPercent: 0, fixedPerMonth: 0, feedIn: { kind: 'none' } });
    expect(settings.priceSource).toBeNull();
    // The placeholder fields are gone once migrated.
    expect(settings).not.toHaveProperty('flatPricePerKwh');
    expect(settings).not.toHaveProperty('currency');
  });

  it('keep a stored tariff and price source, and start new sites on a flat price', () => {
    const settings = validateSiteSettings({ ...DEFAULT_SITE_SETTINGS, tariff: ITALIAN_INDEXED_EXAMPLE, priceSource: { provider: 'energy-charts', zone: 'IT-North' } });
    expect(settings.tariff).toEqual(ITALIAN_INDEXED_EXAMPLE);
    expect(settings.priceSource).toEqual({ provider: 'energy-charts', zone: 'IT-North' });
    expect(validateSiteSettings({}).tariff).toMatchObject({ name: 'Flat price', energy: { kind: 'fixed', perKwh: 0.25 }, currency: 'EUR' });
  });

  it('refuse a bad tariff or source, naming each field', () => {
    const bad = { ...ITALIAN_F123_EXAMPLE, vatPercent: 120, gridFees: { kind: 'fixed', perKwh: 45 } };
    let error: unknown;
    try {
      validateSiteSettings({ tariff: bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const issues = (error as SettingsError).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(['tariff.gridFees.perKwh', 'tariff.vatPercent']);
    expect(issues.find((i) => i.path === 'tariff.gridFees.perKwh')?.message).toBe('The grid fee per kWh must be between 0 and 10 (got 45)');

    expect(() => validateSiteSettings({ tariff: ITALIAN_F123_EXAMPLE, priceSource: { provider: 'entsoe', token: '', eic: 'nope' } })).toThrow(/security token is required.*EIC code/);
    // A source whose prices are in another currency than the tariff's cannot price it.
    expect(() => validateSiteSettings({ tariff: ITALIAN_F123_EXAMPLE, priceSource: { provider: 'octopus-agile', product: 'AGILE-24-10-01', region: 'C', vat: 'included' } })).toThrow(
      'The price source gives prices in GBP but the tariff is in EUR',
    );
    expect(() => validateSiteSettings({ flatPricePerKwh: 0.2, currency: 'euro' })).toThrow(/three-letter/);
  });
});
