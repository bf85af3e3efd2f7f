/**
 * Settings of a site (stored with its history, so a backup carries them): the contracted power
 * of the grid connection, the tariff and where its market prices come from, where the panels are
 * for the solar forecast, and the PIN that guards switching loads and changing settings.
 */
import { flatTariff, localTimeZone, type Tariff, validateTariff } from '../tariff/tariff';
import { sourceCurrency, type PriceSourceConfig, validateSourceConfig } from '../tariff/providers/sources';
import { issuesMessage, type ValidationIssue } from '../tariff/validation';

export interface PanelLocation {
  /** Degrees, −90..90. */
  readonly latitude: number;
  /** Degrees, −180..180. */
  readonly longitude: number;
  /** Peak power of the array, W. */
  readonly peakWatts: number;
  /** Tilt from horizontal, degrees 0..90. */
  readonly tiltDeg: number;
  /** Azimuth, degrees clockwise from north: 180 faces south. */
  readonly azimuthDeg: number;
}

/** A PIN as stored: never the digits, a salted PBKDF2-SHA256 hash. */
export interface PinHash {
  readonly saltHex: string;
  readonly hashHex: string;
  readonly iterations: number;
}

export interface SiteSettings {
  /** Contracted power of the grid connection, W (Italy: 3 kW, 4.5 kW, 6 kW…). */
  readonly contractedPowerW: number;
  /** What energy costs: fixed, time-of-use (F1/F2/F3) or dynamic; bills and costs use it (docs/billing.md). */
  readonly tariff: Tariff;
  /** Where market prices come from, for dynamic tariffs and spot-indexed feed-in; null: none. */
  readonly priceSource: PriceSourceConfig | null;
  readonly location: PanelLocation | undefined;
  readonly pin: PinHash | undefined;
}

/** The price of a new site until its tariff is set: one flat price, taxes included. */
const DEFAULT_FLAT_PRICE = 0.25;

export const DEFAULT_SITE_SETTINGS: SiteSettings = {
  contractedPowerW: 3000,
  tariff: flatTariff(DEFAULT_FLAT_PRICE, 'EUR', localTimeZone()),
  priceSource: null,
  location: undefined,
  pin: undefined,
};

export class SettingsError extends Error {
  override readonly name = 'SettingsError';

  /** Each problem with the path of its field (`tariff.vatPercent`), for forms. */
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(message);
  }
}

/**
 * The tariff of stored settings. Settings written before tariffs existed hold a flat price and a
 * currency: they become a fixed tariff at that price (taxes included, no fees), so an existing
 * site's costs stay what they were.
 */
function storedTariff(input: Record<string, unknown>): unknown {
  if (input.tariff !== undefined) return input.tariff;
  const legacyPrice = input.flatPricePerKwh;
  const legacyCurrency = input.currency;
  if (legacyPrice === undefined && legacyCurrency === undefined) return DEFAULT_SITE_SETTINGS.tariff;
  const price = number(legacyPrice ?? DEFAULT_FLAT_PRICE, 'price per kWh', 0, 100);
  const currency = typeof legacyCurrency === 'string' && /^[A-Z]{3}$/.test(legacyCurrency) ? legacyCurrency : undefined;
  if (legacyCurrency !== undefined && !currency) throw new SettingsError('currency must be a three-letter ISO 4217 code, such as EUR');
  return flatTariff(price, currency ?? 'EUR', localTimeZone());
}

const prefixed = (prefix: string, issues: readonly ValidationIssue[]): ValidationIssue[] => issues.map((i) => ({ path: i.path ? `${prefix}.${i.path}` : prefix, message: i.message }));

function checkedTariff(input: unknown): Tariff {
  const checked = validateTariff(input);
  if (!checked.ok) throw new SettingsError(`the tariff is not valid: ${issuesMessage(checked.issues)}`, prefixed('tariff', checked.issues));
  return checked.value;
}

function checkedSource(input: unknown, tariff: Tariff): PriceSourceConfig | null {
  if (input === null || input === undefined) return null;
  const checked = validateSourceConfig(input);
  if (!checked.ok) throw new SettingsError(`the price source is not valid: ${issuesMessage(checked.issues)}`, prefixed('priceSource', checked.issues));
  const currency = sourceCurrency(checked.value);
  if (currency !== tariff.currency) {
    const message = `The price source gives prices in ${currency} but the tariff is in ${tariff.currency}`;
    throw new SettingsError(message, [{ path: 'priceSource.currency', message }]);
  }
  return checked.value;
}

function number(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be a number from ${min} to ${max}`);
  }
  return value;
}

/** Checks settings from storage, a backup or a form; throws SettingsError saying what is wrong. */
export function validateSiteSettings(input: unknown): SiteSettings {
  if (typeof input !== 'object' || input === null) throw new SettingsError('settings must be an object');
  const o = { ...DEFAULT_SITE_SETTINGS, ...(input as Partial<SiteSettings>) };
  const tariff = checkedTariff(storedTariff(input as Record<string, unknown>));
  const priceSource = checkedSource(o.priceSource, tariff);
  let location: PanelLocation | undefined;
  if (o.location !== undefined && o.location !== null) {
    const l = o.location;
    location = {
      latitude: number(l.latitude, 'latitude', -90, 90),
      longitude: number(l.longitude, 'longitude', -180, 180),
      peakWatts: number(l.peakWatts, 'peak power', 1, 1_000_000),
      tiltDeg: number(l.tiltDeg, 'tilt', 0, 90),
      azimuthDeg: number(l.azimuthDeg, 'azimuth', 0, 360),
    };
  }
  let pin: PinHash | undefined;
  if (o.pin !== undefined && o.pin !== null) {
    const p = o.pin;
    if (typeof p.saltHex !== 'string' || typeof p.hashHex !== 'string' || !/^[0-9a-f]{32}$/.test(p.saltHex) || !/^[0-9a-f]{64}$/.test(p.hashHex)) throw new SettingsError('the stored PIN is damaged');
    pin = { saltHex: p.saltHex, hashHex: p.hashHex, iterations: number(p.iterations, 'PIN iterations', 1000, 10_000_000) };
  }
  return {
    contractedPowerW: number(o.contractedPowerW, 'contracted power', 100, 1_000_000),
    tariff,
    priceSource,
    location,
    pin,
  };
}

const PIN_ITERATIONS = 200_000;

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

async function pbkdf2(pin: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, key, 256));
}

/** A PIN is 4 to 8 digits. */
export function pinProblem(pin: string): string | undefined {
  return /^\d{4,8}$/.test(pin) ? undefined : 'a PIN is 4 to 8 digits';
}

export async function hashPin(pin: string): Promise<PinHash> {
  const problem = pinProblem(pin);
  if (problem) throw new SettingsError(problem);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { saltHex: hex(salt), hashHex: hex(await pbkdf2(pin, salt, PIN_ITERATIONS)), iterations: PIN_ITERATIONS };
}

/** Compares in constant time once hashed. */
export async function checkPin(pin: string, stored: PinHash): Promise<boolean> {
  const got = await pbkdf2(pin, unhex(stored.saltHex), stored.iterations);
  const want = unhex(stored.hashHex);
  let diff = got.length ^ want.length;
  for (let i = 0; i < Math.min(got.length, want.length); i++) diff |= (got[i] as number) ^ (want[i] as number);
  return diff === 0;
}
