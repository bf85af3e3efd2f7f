/**
 * A site's credentials: its key, the aggregator's freshness counter and the last freshness value
 * accepted from each meter, kept apart per site so that two sites (or the demo) never mix counters.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  type KeyValueStorage,
  localStorageCounterStore,
  localStorageLastFvStore,
  memoryCounterStore,
  memoryLastFvStore,
  ReceiverFreshness,
  SenderCounter,
} from '../meter/freshness';
import { generateSiteKey, parseSiteKey, toHex } from '../meter/keys';

export interface SiteCredentials {
  readonly siteKey: Uint8Array;
  readonly counter: SenderCounter;
  readonly freshness: ReceiverFreshness;
}

/** A short public name for a site key, for storage keys and the settings screen. */
export function siteFingerprint(siteKey: Uint8Array): string {
  return toHex(sha256(siteKey).slice(0, 4));
}

/** Credentials whose counters persist in `storage` (localStorage in the app). */
export async function persistentSite(siteKey: Uint8Array, storage: KeyValueStorage): Promise<SiteCredentials> {
  const prefix = `wattwall.site.${siteFingerprint(siteKey)}`;
  return {
    siteKey,
    counter: await SenderCounter.open(localStorageCounterStore(`${prefix}.sender-fv`, storage)),
    freshness: await ReceiverFreshness.open(localStorageLastFvStore(`${prefix}.meter-fv`, storage)),
  };
}

/** Credentials that live as long as the page: for tests. */
export async function ephemeralSite(siteKey: Uint8Array): Promise<SiteCredentials> {
  return { siteKey, counter: await SenderCounter.open(memoryCounterStore()), freshness: await ReceiverFreshness.open(memoryLastFvStore()) };
}

const SITE_KEY_ITEM = 'wattwall.site-key';

/**
 * This installation's site key, created on first use. Until the settings screen offers to show,
 * back up and replace it, it lives under localStorage `wattwall.site-key` as hex.
 */
export function loadOrCreateSiteKey(storage: KeyValueStorage): Uint8Array {
  const stored = storage.getItem(SITE_KEY_ITEM);
  const parsed = stored === null ? undefined : parseSiteKey(stored);
  if (parsed) return parsed;
  if (stored !== null) throw new Error(`${SITE_KEY_ITEM} does not hold a 32-byte hex key; restore it from your backup`);
  const key = generateSiteKey();
  storage.setItem(SITE_KEY_ITEM, toHex(key));
  return key;
}
