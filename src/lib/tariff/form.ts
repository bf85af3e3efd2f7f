/**
 * The tariff and price-source settings as a form edits them: flat fields (a number input per
 * price, a select per choice) to and from the stored, validated shapes. The form never stores
 * anything itself: what `formToTariff` builds goes through `validateTariff`, whose issues name the
 * same paths the form's fields carry.
 */
import { type BandSchedule, ITALIAN_F123, SINGLE_BAND } from './bands';
import { ENTSOE_ZONES } from './providers/entsoe-zones';
import { OCTOPUS_REGIONS } from './providers/octopus';
import type { PriceProviderId, PriceSourceConfig } from './providers/sources';
import type { BandedPrice, FeedIn, Tariff } from './tariff';

/** A number input's value: empty is undefined (Svelte binds an empty number input to null). */
export type FormNumber = number | null | undefined;

export type BandChoice = 'single' | 'it-f123' | 'custom';

export interface BandedFields {
  kind: BandedPrice['kind'];
  fixed: FormNumber;
  byBand: Record<string, FormNumber>;
}

export interface TariffForm {
  name: string;
  currency: string;
  timeZone: string;
  bandChoice: BandChoice;
  /** The schedule kept when it is neither built-in one (set through the JSON editor). */
  customBands: BandSchedule;
  energyKind: Tariff['energy']['kind'];
  energy: BandedFields;
  markup: FormNumber;
  fallback: BandedFields;
  gridFees: BandedFields;
  excise: FormNumber;
  vat: FormNumber;
  fixedPerMonth: FormNumber;
  feedInKind: FeedIn['kind'];
  feedInFixed: FormNumber;
  feedInFactor: FormNumber;
  feedInOffset: FormNumber;
  feedInFloor: boolean;
  feedInFallback: FormNumber;
  periodMonths: number;
  firstMonth: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function bandChoiceOf(schedule: BandSchedule): BandChoice {
  if (same(schedule, ITALIAN_F123)) return 'it-f123';
  if (same(schedule, SINGLE_BAND)) return 'single';
  return 'custom';
}

export function scheduleOf(form: Pick<TariffForm, 'bandChoice' | 'customBands'>): BandSchedule {
  return form.bandChoice === 'it-f123' ? ITALIAN_F123 : form.bandChoice === 'single' ? SINGLE_BAND : form.customBands;
}

/** The band names the form shows a price field for. */
export function formBands(form: Pick<TariffForm, 'bandChoice' | 'customBands'>): readonly string[] {
  return scheduleOf(form).bands;
}

function bandedFields(price: BandedPrice | undefined, bands: readonly string[]): BandedFields {
  const fixed = price?.kind === 'fixed' ? price.perKwh : undefined;
  const byBand: Record<string, FormNumber> = {};
  for (const band of bands) byBand[band] = price?.kind === 'time-of-use' ? price.perKwh[band] : fixed;
  return { kind: price?.kind ?? 'fixed', fixed: fixed ?? (price?.kind === 'time-of-use' ? price.perKwh[bands[0] ?? ''] : undefined), byBand };
}

/** The stored tariff as the form's fields. */
export function tariffToForm(tariff: Tariff): TariffForm {
  const bands = tariff.bands.bands;
  const e = tariff.energy;
  const f = tariff.feedIn;
  return {
    name: tariff.name,
    currency: tariff.currency,
    timeZone: tariff.timeZone,
    bandChoice: bandChoiceOf(tariff.bands),
    customBands: tariff.bands,
    energyKind: e.kind,
    energy: bandedFields(e.kind === 'dynamic' ? undefined : e, bands),
    markup: e.kind === 'dynamic' ? e.markupPerKwh : 0,
    fallback: bandedFields(e.kind === 'dynamic' ? e.fallback : e, bands),
    gridFees: bandedFields(tariff.gridFees, bands),
    excise: tariff.excisePerKwh,
    vat: tariff.vatPercent,
    fixedPerMonth: tariff.fixedPerMonth,
    feedInKind: f.kind,
    feedInFixed: f.kind === 'fixed' ? f.perKwh : f.kind === 'spot' ? f.fallbackPerKwh : 0,
    feedInFactor: f.kind === 'spot' ? f.factor : 1,
    feedInOffset: f.kind === 'spot' ? f.offsetPerKwh : 0,
    feedInFloor: f.kind === 'spot' ? f.floorAtZero : true,
    feedInFallback: f.kind === 'spot' ? f.fallbackPerKwh : f.kind === 'fixed' ? f.perKwh : 0,
    periodMonths: tariff.billing.periodMonths,
    firstMonth: tariff.billing.firstMonth,
  };
}

const num = (value: FormNumber): number | undefined => (value === null || value === undefined || Number.isNaN(value) ? undefined : value);

function bandedPrice(fields: BandedFields, bands: readonly string[]): BandedPrice {
  if (fields.kind === 'fixed') return { kind: 'fixed', perKwh: num(fields.fixed) as number };
  const perKwh: Record<string, number> = {};
  for (const band of bands) perKwh[band] = num(fields.byBand[band]) as number;
  return { kind: 'time-of-use', perKwh };
}

/**
 * The tariff the form describes, not yet checked: `validateTariff` says what is wrong with it
 * (an empty field stays undefined, which it reports as "must be a number (got nothing)").
 */
export function formToTariff(form: TariffForm): Tariff {
  const bands = scheduleOf(form);
  const names = bands.bands;
  let feedIn: FeedIn;
  if (form.feedInKind === 'fixed') feedIn = { kind: 'fixed', perKwh: num(form.feedInFixed) as number };
  else if (form.feedInKind === 'spot') {
    feedIn = { kind: 'spot', factor: num(form.feedInFactor) as number, offsetPerKwh: num(form.feedInOffset) as number, floorAtZero: form.feedInFloor, fallbackPerKwh: num(form.feedInFallback) as number };
  } else feedIn = { kind: 'none' };
  return {
    version: 1,
    name: form.name.trim(),
    currency: form.currency.trim().toUpperCase(),
    timeZone: form.timeZone.trim(),
    bands,
    energy: form.energyKind === 'dynamic' ? { kind: 'dynamic', markupPerKwh: num(form.markup) as number, fallback: bandedPrice(form.fallback, names) } : bandedPrice({ ...form.energy, kind: form.energyKind }, names),
    gridFees: bandedPrice(form.gridFees, names),
    excisePerKwh: num(form.excise) as number,
    vatPercent: num(form.vat) as number,
    fixedPerMonth: num(form.fixedPerMonth) as number,
    feedIn,
    billing: { periodMonths: form.periodMonths as Tariff['billing']['periodMonths'], firstMonth: form.firstMonth },
  };
}

export type SourceChoice = PriceProviderId | 'none';

export interface SourceForm {
  provider: SourceChoice;
  zone: string;
  country: 'DE' | 'AT';
  product: string;
  region: string;
  vat: 'excluded' | 'included';
  area: string;
  currency: string;
  token: string;
  homeId: string;
  field: 'energy' | 'total';
  eic: string;
  proxyUrl: string;
}

/** The fields of every provider, filled from `source` and sensible defaults for the others. */
export function sourceToForm(source: PriceSourceConfig | null, tariffCurrency: string): SourceForm {
  const form: SourceForm = {
    provider: source?.provider ?? 'none',
    zone: 'IT-North',
    country: 'DE',
    product: 'AGILE-24-10-01',
    region: OCTOPUS_REGIONS[0] ?? 'C',
    vat: 'included',
    area: 'SE3',
    currency: tariffCurrency,
    token: '',
    homeId: '',
    field: 'energy',
    eic: ENTSOE_ZONES['IT-North'] ?? '',
    proxyUrl: '',
  };
  if (!source) return form;
  switch (source.provider) {
    case 'energy-charts': return { ...form, zone: source.zone };
    case 'awattar': return { ...form, country: source.country };
    case 'octopus-agile': return { ...form, product: source.product, region: source.region, vat: source.vat };
    case 'nord-pool': return { ...form, area: source.area, currency: source.currency };
    case 'tibber': return { ...form, token: source.token, homeId: source.homeId ?? '', field: source.field, currency: source.currency };
    case 'entsoe': return { ...form, token: source.token, eic: source.eic, proxyUrl: source.proxyUrl ?? '' };
    case 'file': return { ...form, currency: source.currency };
  }
}

/** The source the form describes (null: none), not yet checked: `validateSourceConfig` does that. */
export function formToSource(form: SourceForm): PriceSourceConfig | null {
  const t = (s: string): string => s.trim();
  switch (form.provider) {
    case 'none': return null;
    case 'energy-charts': return { provider: 'energy-charts', zone: form.zone };
    case 'awattar': return { provider: 'awattar', country: form.country };
    case 'octopus-agile': return { provider: 'octopus-agile', product: t(form.product).toUpperCase(), region: form.region, vat: form.vat };
    case 'nord-pool': return { provider: 'nord-pool', area: t(form.area).toUpperCase(), currency: form.currency };
    case 'tibber': return { provider: 'tibber', token: t(form.token), ...(t(form.homeId) ? { homeId: t(form.homeId) } : {}), field: form.field, currency: t(form.currency).toUpperCase() };
    case 'entsoe': return { provider: 'entsoe', token: t(form.token), eic: t(form.eic).toUpperCase(), ...(t(form.proxyUrl) ? { proxyUrl: t(form.proxyUrl) } : {}) };
    case 'file': return { provider: 'file', currency: t(form.currency).toUpperCase() };
  }
}
