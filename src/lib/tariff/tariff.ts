/**
 * A tariff: plain, serialisable data (stored in the settings, edited on the settings screen),
 * validated with messages a person can act on, and the unit rates it gives each slot.
 *
 * Composition per slot, all per kWh and before VAT: energy (a fixed price, a price by band, or
 * the spot price plus the supplier's markup), grid fees (flat or by band) and excise. VAT applies
 * to those and to the fixed monthly fee. Exported energy is credited at the feed-in rate (fixed,
 * or indexed to the spot price), outside VAT as for a household's sales under Ritiro Dedicato.
 */
import { type BandSchedule, ITALIAN_F123, SINGLE_BAND, wallMinutes } from './bands';
import { HOLIDAY_CALENDARS } from './holidays';
import { isRecord } from './providers/common';
import { describe, Issues, type Validated } from './validation';
import { isValidTimeZone } from './zone';

/** A price per kWh, either one for all slots or one per band. */
export type BandedPrice =
  | { readonly kind: 'fixed'; readonly perKwh: number }
  | { readonly kind: 'time-of-use'; readonly perKwh: Readonly<Record<string, number>> };

export type EnergyPrice =
  | BandedPrice
  /** Spot price of the slot plus a markup; `fallback` prices the slots whose spot price is unknown. */
  | { readonly kind: 'dynamic'; readonly markupPerKwh: number; readonly fallback: BandedPrice };

export type FeedIn =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly perKwh: number }
  /** `factor × spot + offsetPerKwh`, at least 0 when `floorAtZero`; `fallbackPerKwh` when the spot price is unknown. */
  | { readonly kind: 'spot'; readonly factor: number; readonly offsetPerKwh: number; readonly floorAtZero: boolean; readonly fallbackPerKwh: number };

export const BILLING_PERIOD_MONTHS = [1, 2, 3, 4, 6, 12] as const;

export interface Tariff {
  readonly version: 1;
  readonly name: string;
  /** ISO 4217 code. */
  readonly currency: string;
  /** IANA zone of the bands, days, months and billing periods. */
  readonly timeZone: string;
  readonly bands: BandSchedule;
  readonly energy: EnergyPrice;
  /** Network and system charges per kWh imported. */
  readonly gridFees: BandedPrice;
  readonly excisePerKwh: number;
  /** 10 for an Italian household, 22 otherwise; 5 in the UK. */
  readonly vatPercent: number;
  /** Fixed charges per month before VAT (supply, meter, contracted power). */
  readonly fixedPerMonth: number;
  readonly feedIn: FeedIn;
  /** Billing periods of `periodMonths` months, one of which starts in `firstMonth` (1–12). */
  readonly billing: { readonly periodMonths: (typeof BILLING_PERIOD_MONTHS)[number]; readonly firstMonth: number };
}

/** Whether the tariff needs spot prices (dynamic energy or spot-indexed feed-in). */
export function needsSpotPrices(tariff: Tariff): boolean {
  return tariff.energy.kind === 'dynamic' || tariff.feedIn.kind === 'spot';
}

/** Where a slot's energy or feed-in rate came from. */
export type RateSource = 'tariff' | 'spot' | 'fallback';

/** The rates of one slot, currency per kWh, before VAT. */
export interface SlotRates {
  readonly band: string;
  readonly energy: number;
  readonly energySource: RateSource;
  readonly gridFee: number;
  readonly excise: number;
  readonly feedIn: number;
  readonly feedInSource: RateSource;
}

function banded(price: BandedPrice, band: string): number {
  return price.kind === 'fixed' ? price.perKwh : (price.perKwh[band] ?? 0);
}

/** The rates of a slot in `band` whose spot price is `spot` (undefined when unknown). */
export function slotRates(tariff: Tariff, band: string, spot: number | undefined): SlotRates {
  const e = tariff.energy;
  let energy: number;
  let energySource: RateSource = 'tariff';
  if (e.kind === 'dynamic') {
    if (spot === undefined) {
      energy = banded(e.fallback, band);
      energySource = 'fallback';
    } else {
      energy = spot + e.markupPerKwh;
      energySource = 'spot';
    }
  } else energy = banded(e, band);
  const f = tariff.feedIn;
  let feedIn = 0;
  let feedInSource: RateSource = 'tariff';
  if (f.kind === 'fixed') feedIn = f.perKwh;
  else if (f.kind === 'spot') {
    if (spot === undefined) {
      feedIn = f.fallbackPerKwh;
      feedInSource = 'fallback';
    } else {
      feedIn = f.factor * spot + f.offsetPerKwh;
      if (f.floorAtZero) feedIn = Math.max(0, feedIn);
      feedInSource = 'spot';
    }
  }
  return { band, energy, energySource, gridFee: banded(tariff.gridFees, band), excise: tariff.excisePerKwh, feedIn, feedInSource };
}

/** What one more kWh imported in the slot costs, VAT included: the figure a planner compares. */
export function importPricePerKwh(rates: SlotRates, vatPercent: number): number {
  return (rates.energy + rates.gridFee + rates.excise) * (1 + vatPercent / 100);
}

/** Bound on a price per kWh: above it the figure is almost surely in cents or per MWh. */
const MAX_PER_KWH = 10;
const CURRENCY = /^[A-Z]{3}$/;

function validateBands(input: unknown, issues: Issues): BandSchedule | undefined {
  if (!isRecord(input)) {
    issues.add('bands', 'The band schedule is missing');
    return undefined;
  }
  const names = input.bands;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n.trim() !== '')) {
    issues.add('bands.bands', 'List at least one band name (for example F1, F2, F3)');
    return undefined;
  }
  if (new Set(names).size !== names.length) issues.add('bands.bands', 'Band names must differ from each other');
  const known = names as string[];
  if (typeof input.defaultBand !== 'string' || !known.includes(input.defaultBand)) {
    issues.add('bands.defaultBand', `The default band must be one of the bands ${known.join(', ')} (got ${describe(input.defaultBand)})`);
  }
  issues.oneOf(input.holidays, HOLIDAY_CALENDARS, 'bands.holidays', 'The holiday calendar');
  if (!Array.isArray(input.rules)) issues.add('bands.rules', 'The rules must be a list (it may be empty)');
  else {
    input.rules.forEach((rule: unknown, i) => {
      const path = `bands.rules.${i}`;
      if (!isRecord(rule)) {
        issues.add(path, 'A rule must be an object');
        return;
      }
      if (typeof rule.band !== 'string' || !known.includes(rule.band)) issues.add(`${path}.band`, `Rule ${i + 1} names band ${describe(rule.band)}, which is not among ${known.join(', ')}`);
      if (!Array.isArray(rule.days) || rule.days.length === 0 || !rule.days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7)) {
        issues.add(`${path}.days`, `Rule ${i + 1} needs weekdays from 1 (Monday) to 7 (Sunday; holidays count as Sundays)`);
      }
      const from = typeof rule.from === 'string' ? wallMinutes(rule.from) : undefined;
      const to = typeof rule.to === 'string' ? wallMinutes(rule.to) : undefined;
      if (from === undefined || from % 15 !== 0 || from >= 24 * 60) issues.add(`${path}.from`, `Rule ${i + 1} must start at HH:MM on a quarter hour (got ${describe(rule.from)})`);
      if (to === undefined || to % 15 !== 0) issues.add(`${path}.to`, `Rule ${i + 1} must end at HH:MM on a quarter hour, 24:00 at the latest (got ${describe(rule.to)})`);
      if (from !== undefined && to !== undefined && to <= from) issues.add(`${path}.to`, `Rule ${i + 1} ends (${String(rule.to)}) before it starts (${String(rule.from)}); split a rule that crosses midnight in two`);
      if (rule.months !== undefined && (!Array.isArray(rule.months) || rule.months.length === 0 || !rule.months.every((m) => Number.isInteger(m) && m >= 1 && m <= 12))) {
        issues.add(`${path}.months`, `Rule ${i + 1} lists months that are not from 1 to 12`);
      }
    });
  }
  return input as unknown as BandSchedule;
}

function validateBanded(input: unknown, path: string, what: string, bands: readonly string[] | undefined, issues: Issues, min: number): void {
  if (!isRecord(input)) {
    issues.add(path, `${what} is missing`);
    return;
  }
  const kind = issues.oneOf(input.kind, ['fixed', 'time-of-use'] as const, `${path}.kind`, `The kind of ${what.toLowerCase()}`);
  if (kind === 'fixed') issues.number(input.perKwh, `${path}.perKwh`, `${what} per kWh`, min, MAX_PER_KWH);
  if (kind === 'time-of-use') {
    if (!isRecord(input.perKwh)) {
      issues.add(`${path}.perKwh`, `${what} needs a price per kWh for each band`);
      return;
    }
    const prices = input.perKwh;
    for (const band of bands ?? []) issues.number(prices[band], `${path}.perKwh.${band}`, `${what} in band ${band}`, min, MAX_PER_KWH);
    for (const band of Object.keys(prices)) if (bands && !bands.includes(band)) issues.add(`${path}.perKwh.${band}`, `${what} has a price for ${band}, which is not a band of the schedule`);
  }
}

/** Checks a tariff read from the settings; every problem at once, each with its field. */
export function validateTariff(input: unknown): Validated<Tariff> {
  const issues = new Issues();
  if (!isRecord(input)) {
    issues.add('', 'A tariff must be an object');
    return issues.result(input as Tariff);
  }
  if (input.version !== 1) issues.add('version', `Unknown tariff format version ${describe(input.version)}; this app reads version 1`);
  issues.string(input.name, 'name', 'The name');
  issues.string(input.currency, 'currency', 'The currency', CURRENCY, 'must be a three-letter ISO code such as EUR');
  if (typeof input.timeZone !== 'string' || !isValidTimeZone(input.timeZone)) issues.add('timeZone', `The time zone must be an IANA name such as Europe/Rome (got ${describe(input.timeZone)})`);
  const schedule = validateBands(input.bands, issues);
  const bandNames = Array.isArray(schedule?.bands) ? schedule.bands : undefined;
  const energy = input.energy;
  if (isRecord(energy) && energy.kind === 'dynamic') {
    issues.number(energy.markupPerKwh, 'energy.markupPerKwh', 'The markup per kWh', -MAX_PER_KWH, MAX_PER_KWH);
    validateBanded(energy.fallback, 'energy.fallback', 'The fallback energy price (used while no spot price is known)', bandNames, issues, -MAX_PER_KWH);
  } else if (isRecord(energy) && (energy.kind === 'fixed' || energy.kind === 'time-of-use')) {
    validateBanded(energy, 'energy', 'The energy price', bandNames, issues, -MAX_PER_KWH);
  } else issues.add('energy.kind', `The energy price must be "fixed", "time-of-use" or "dynamic" (got ${describe(isRecord(energy) ? energy.kind : energy)})`);
  validateBanded(input.gridFees, 'gridFees', 'The grid fee', bandNames, issues, 0);
  issues.number(input.excisePerKwh, 'excisePerKwh', 'The excise per kWh', 0, MAX_PER_KWH);
  issues.number(input.vatPercent, 'vatPercent', 'The VAT rate (percent)', 0, 100);
  issues.number(input.fixedPerMonth, 'fixedPerMonth', 'The fixed fee per month', 0, 1_000_000);
  const feedIn = input.feedIn;
  if (!isRecord(feedIn)) issues.add('feedIn', 'The feed-in compensation is missing (use {"kind": "none"} for none)');
  else {
    const kind = issues.oneOf(feedIn.kind, ['none', 'fixed', 'spot'] as const, 'feedIn.kind', 'The kind of feed-in compensation');
    if (kind === 'fixed') issues.number(feedIn.perKwh, 'feedIn.perKwh', 'The feed-in compensation per kWh', 0, MAX_PER_KWH);
    if (kind === 'spot') {
      issues.number(feedIn.factor, 'feedIn.factor', 'The share of the spot price paid for exports', 0, 10);
      issues.number(feedIn.offsetPerKwh, 'feedIn.offsetPerKwh', 'The feed-in offset per kWh', -MAX_PER_KWH, MAX_PER_KWH);
      if (typeof feedIn.floorAtZero !== 'boolean') issues.add('feedIn.floorAtZero', 'Say whether the feed-in compensation stops at zero when spot prices are negative (true or false)');
      issues.number(feedIn.fallbackPerKwh, 'feedIn.fallbackPerKwh', 'The feed-in compensation used while no spot price is known', 0, MAX_PER_KWH);
    }
  }
  const billing = input.billing;
  if (!isRecord(billing)) issues.add('billing', 'The billing period is missing');
  else {
    if (!(BILLING_PERIOD_MONTHS as readonly unknown[]).includes(billing.periodMonths)) issues.add('billing.periodMonths', `A billing period lasts ${BILLING_PERIOD_MONTHS.join(', ')} months (got ${describe(billing.periodMonths)})`);
    if (!Number.isInteger(billing.firstMonth) || (billing.firstMonth as number) < 1 || (billing.firstMonth as number) > 12) issues.add('billing.firstMonth', `The month a billing period starts in must be 1 to 12 (got ${describe(billing.firstMonth)})`);
  }
  return issues.result(input as unknown as Tariff);
}

/**
 * A starting point for an Italian household on an F1/F2/F3 offer (2025 orders of magnitude, not
 * any supplier's prices): the settings screen offers it to be edited.
 */
export const ITALIAN_F123_EXAMPLE: Tariff = {
  version: 1,
  name: 'Italian household, F1/F2/F3',
  currency: 'EUR',
  timeZone: 'Europe/Rome',
  bands: ITALIAN_F123,
  energy: { kind: 'time-of-use', perKwh: { F1: 0.135, F2: 0.128, F3: 0.112 } },
  gridFees: { kind: 'fixed', perKwh: 0.045 },
  excisePerKwh: 0.0227,
  vatPercent: 10,
  fixedPerMonth: 10,
  feedIn: { kind: 'spot', factor: 1, offsetPerKwh: 0, floorAtZero: true, fallbackPerKwh: 0.05 },
  billing: { periodMonths: 1, firstMonth: 1 },
};

/**
 * One price per kWh, taxes and fees included, billed monthly: a new site's tariff until the user
 * sets theirs, and what the flat price of settings written before tariffs existed becomes.
 */
export function flatTariff(pricePerKwh: number, currency: string, timeZone: string): Tariff {
  return {
    version: 1,
    name: 'Flat price',
    currency,
    timeZone,
    bands: SINGLE_BAND,
    energy: { kind: 'fixed', perKwh: pricePerKwh },
    gridFees: { kind: 'fixed', perKwh: 0 },
    excisePerKwh: 0,
    vatPercent: 0,
    fixedPerMonth: 0,
    feedIn: { kind: 'none' },
    billing: { periodMonths: 1, firstMonth: 1 },
  };
}

/** The device's IANA time zone (UTC when the platform does not say). */
export function localTimeZone(): string {
  const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isValidTimeZone(zone) ? zone : 'UTC';
}

/**
 * An Italian household on a PUN- or zonal-price-indexed offer: the slot's spot price plus the
 * supplier's spread, F1/F2/F3 fallback prices while no spot price is known (2025 orders of
 * magnitude, not any supplier's prices).
 */
export const ITALIAN_INDEXED_EXAMPLE: Tariff = {
  ...ITALIAN_F123_EXAMPLE,
  name: 'Italian household, spot-indexed',
  energy: { kind: 'dynamic', markupPerKwh: 0.012, fallback: { kind: 'time-of-use', perKwh: { F1: 0.14, F2: 0.13, F3: 0.11 } } },
};

/** Starting points the settings screen offers, to be edited. */
export const TARIFF_PRESETS = {
  flat: flatTariff(0.25, 'EUR', 'Europe/Rome'),
  'it-f123': ITALIAN_F123_EXAMPLE,
  'it-indexed': ITALIAN_INDEXED_EXAMPLE,
} as const satisfies Readonly<Record<string, Tariff>>;
export type TariffPreset = keyof typeof TARIFF_PRESETS;
