import { describe, expect, it } from 'vitest';
import { ITALIAN_F123 } from './bands';
import { formToSource, formToTariff, sourceToForm, tariffToForm } from './form';
import type { PriceSourceConfig } from './providers/sources';
import { flatTariff, ITALIAN_F123_EXAMPLE, ITALIAN_INDEXED_EXAMPLE, type Tariff, validateTariff } from './tariff';

describe('the tariff form', () => {
  const custom: Tariff = {
    ...ITALIAN_F123_EXAMPLE,
    name: 'Two bands',
    bands: { bands: ['peak', 'off'], defaultBand: 'off', holidays: 'none', rules: [{ band: 'peak', days: [1, 2, 3, 4, 5], from: '07:00', to: '21:00' }] },
    energy: { kind: 'time-of-use', perKwh: { peak: 0.3, off: 0.18 } },
    gridFees: { kind: 'time-of-use', perKwh: { peak: 0.06, off: 0.03 } },
    feedIn: { kind: 'fixed', perKwh: 0.07 },
    billing: { periodMonths: 2, firstMonth: 2 },
  };

  it.each([
    ['flat', flatTariff(0.27, 'EUR', 'Europe/Berlin')],
    ['F1/F2/F3', ITALIAN_F123_EXAMPLE],
    ['spot-indexed', ITALIAN_INDEXED_EXAMPLE],
    ['custom bands', custom],
  ])('gives back the %s tariff it was filled from', (_name, tariff) => {
    const back = formToTariff(tariffToForm(tariff));
    expect(back).toEqual(tariff);
    expect(validateTariff(back).ok).toBe(true);
  });

  it('switches kinds and bands, and leaves empty fields for validation to name', () => {
    const form = tariffToForm(flatTariff(0.25, 'EUR', 'Europe/Rome'));
    form.bandChoice = 'it-f123';
    form.energyKind = 'time-of-use';
    form.energy.kind = 'time-of-use';
    form.energy.byBand = { F1: 0.2, F2: 0.18, F3: null };
    form.vat = null;
    const tariff = formToTariff(form);
    expect(tariff.bands).toEqual(ITALIAN_F123);
    const checked = validateTariff(tariff);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((i) => [i.path, i.message])).toEqual([
      ['energy.perKwh.F3', 'The energy price in band F3 must be a number (got nothing)'],
      ['vatPercent', 'The VAT rate (percent) must be a number (got nothing)'],
    ]);
  });
});

describe('the price source form', () => {
  const sources: PriceSourceConfig[] = [
    { provider: 'energy-charts', zone: 'IT-Sicily' },
    { provider: 'awattar', country: 'AT' },
    { provider: 'octopus-agile', product: 'AGILE-24-10-01', region: 'H', vat: 'excluded' },
    { provider: 'nord-pool', area: 'NO2', currency: 'NOK' },
    { provider: 'tibber', token: 'abc', homeId: 'home-1', field: 'total', currency: 'SEK' },
    { provider: 'entsoe', token: 'tok', eic: '10Y1001A1001A73I', proxyUrl: 'http://localhost:8080/entsoe' },
    { provider: 'file', currency: 'EUR' },
  ];
  it.each(sources.map((s) => [s.provider, s] as const))('gives back the %s source', (_p, source) => {
    expect(formToSource(sourceToForm(source, 'EUR'))).toEqual(source);
  });

  it('is empty for no source and trims what is typed', () => {
    expect(formToSource(sourceToForm(null, 'EUR'))).toBeNull();
    const form = sourceToForm(null, 'EUR');
    form.provider = 'entsoe';
    form.token = '  tok  ';
    form.proxyUrl = ' ';
    expect(formToSource(form)).toEqual({ provider: 'entsoe', token: 'tok', eic: '10Y1001A1001A73I' });
  });
});
