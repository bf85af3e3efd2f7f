/**
 * Where spot prices come from: plain, serialisable settings (stored with the other settings and
 * edited on the settings screen), their validation, and the adapter each one makes.
 */
import type { PriceProvider, ProviderContext } from './provider';
import { Issues, type Validated } from '../validation';
import { AWATTAR_COUNTRIES, awattarProvider } from './awattar';
import { ENERGY_CHARTS_ZONES, energyChartsProvider } from './energy-charts';
import { entsoeInfo } from './entsoe-zones';
import { NORD_POOL_CURRENCIES, nordPoolProvider } from './nord-pool';
import { OCTOPUS_REGIONS, octopusProvider } from './octopus';
import { tibberProvider } from './tibber';
import { isRecord } from './common';

export type PriceSourceConfig =
  | { readonly provider: 'energy-charts'; readonly zone: string }
  | { readonly provider: 'awattar'; readonly country: 'DE' | 'AT' }
  | { readonly provider: 'octopus-agile'; readonly product: string; readonly region: string; readonly vat: 'excluded' | 'included' }
  | { readonly provider: 'nord-pool'; readonly area: string; readonly currency: string }
  | { readonly provider: 'tibber'; readonly token: string; readonly homeId?: string; readonly field: 'energy' | 'total'; readonly currency: string }
  | { readonly provider: 'entsoe'; readonly token: string; readonly eic: string; readonly proxyUrl?: string }
  /** Prices only from files the user imports. */
  | { readonly provider: 'file'; readonly currency: string };

export const PRICE_PROVIDERS = ['energy-charts', 'awattar', 'octopus-agile', 'nord-pool', 'tibber', 'entsoe', 'file'] as const;
export type PriceProviderId = (typeof PRICE_PROVIDERS)[number];

/** The cache key of imported prices. */
export const FILE_SOURCE_KEY = 'file';

const CURRENCY = /^[A-Z]{3}$/;
const EIC = /^[0-9]{2}[A-Z0-9-]{13}[A-Z0-9-]$/;

export function validateSourceConfig(input: unknown): Validated<PriceSourceConfig> {
  const issues = new Issues();
  if (!isRecord(input)) {
    issues.add('', 'a price source must be an object with a "provider"');
    return issues.result(input as PriceSourceConfig);
  }
  const provider = issues.oneOf(input.provider, PRICE_PROVIDERS, 'provider', 'The provider');
  switch (provider) {
    case 'energy-charts':
      issues.oneOf(input.zone, ENERGY_CHARTS_ZONES, 'zone', 'The bidding zone');
      break;
    case 'awattar':
      issues.oneOf(input.country, AWATTAR_COUNTRIES, 'country', 'The country');
      break;
    case 'octopus-agile':
      issues.string(input.product, 'product', 'The product code', /^[A-Z0-9-]+$/, 'must look like AGILE-24-10-01');
      issues.oneOf(input.region, OCTOPUS_REGIONS, 'region', 'The region');
      issues.oneOf(input.vat, ['excluded', 'included'] as const, 'vat', 'The VAT choice');
      break;
    case 'nord-pool':
      issues.string(input.area, 'area', 'The delivery area', /^[A-Z0-9]{2,5}$/, 'must be a Nord Pool area code such as SE3');
      issues.oneOf(input.currency, NORD_POOL_CURRENCIES, 'currency', 'The currency');
      break;
    case 'tibber':
      issues.string(input.token, 'token', 'The Tibber token');
      if (input.homeId !== undefined) issues.string(input.homeId, 'homeId', 'The home id');
      issues.oneOf(input.field, ['energy', 'total'] as const, 'field', 'The price field');
      issues.string(input.currency, 'currency', 'The currency', CURRENCY, 'must be a three-letter code such as EUR');
      break;
    case 'entsoe':
      issues.string(input.token, 'token', 'The ENTSO-E security token');
      issues.string(input.eic, 'eic', 'The bidding zone', EIC, 'must be a 16-character EIC code such as 10Y1001A1001A73I');
      if (input.proxyUrl !== undefined && input.proxyUrl !== '') {
        const ok = typeof input.proxyUrl === 'string' && /^https?:\/\/[^\s]+$/.test(input.proxyUrl);
        if (!ok) issues.add('proxyUrl', 'The proxy URL must start with https:// (or http:// for a proxy on this machine)');
      }
      break;
    case 'file':
      issues.string(input.currency, 'currency', 'The currency', CURRENCY, 'must be a three-letter code such as EUR');
      break;
    case undefined:
      break;
  }
  return issues.result(input as PriceSourceConfig);
}

/** The adapter of a source; undefined for `file`, whose prices only come from imports. */
export function createProvider(config: PriceSourceConfig, context: ProviderContext): PriceProvider | undefined {
  switch (config.provider) {
    case 'energy-charts': return energyChartsProvider(config.zone, context);
    case 'awattar': return awattarProvider(config.country, context);
    case 'octopus-agile': return octopusProvider(config, context);
    case 'nord-pool': return nordPoolProvider(config.area, config.currency, context);
    case 'tibber': return tibberProvider(config, context);
    case 'entsoe': return lazyEntsoe(config, context);
    case 'file': return undefined;
  }
}

/**
 * ENTSO-E's adapter, its XML reader (fast-xml-parser, a fifth of the first screen's JavaScript)
 * loaded at the first fetch: the same provider, only its code comes later.
 */
function lazyEntsoe(config: Extract<PriceSourceConfig, { provider: 'entsoe' }>, context: ProviderContext): PriceProvider {
  let real: Promise<PriceProvider> | undefined;
  return {
    ...entsoeInfo(config.eic),
    async fetchRange(from, to, signal) {
      real ??= import('./entsoe').then((m) => m.entsoeProvider(config, context));
      return (await real).fetchRange(from, to, signal);
    },
  };
}

/** The currency a source's prices are in. */
export function sourceCurrency(config: PriceSourceConfig): string {
  switch (config.provider) {
    case 'octopus-agile': return 'GBP';
    case 'nord-pool':
    case 'tibber':
    case 'file':
      return config.currency;
    default:
      return 'EUR';
  }
}
