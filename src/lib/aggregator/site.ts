/**
 * A site's credentials: its key, the aggregator's freshness counter and the last freshness value
 * accepted from each meter, kept apart per site so that two sites (or the demo) never mix counters.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  type KeyValueStorage,
  localStorageCounterStore,
  coalescingLastFvStore,
  localStorageLastFvStore,
  memoryCounterStore,
  memoryLastFvStore,
  ReceiverFreshness,
  SenderCounter,
} from '../meter/freshness';
import { generateSiteKey, parseSiteKey, toHex } from '../meter/keys';
import type { SiteSecrets } from '../store/backup';

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
  return {
    siteKey,
    counter: await SenderCounter.open(localStorageCounterStore(counterItem(siteKey), storage)),
    // Meters' FVs are written once a second, not per record (see coalescingLastFvStore).
    freshness: await ReceiverFreshness.open(coalescingLastFvStore(localStorageLastFvStore(meterFvItem(siteKey), storage), 1000)),
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

/**
 * How far a restored counter jumps past the backup's reservation: commands sent after the backup
 * was made used values the backup does not know, and a value the meters saw already would be
 * refused as stale. 2^20 values is years of commands; the 32-bit counter can afford it.
 */
export const RESTORE_COUNTER_SKIP = 1 << 20;

const counterItem = (siteKey: Uint8Array) => `wattwall.site.${siteFingerprint(siteKey)}.sender-fv`;
const meterFvItem = (siteKey: Uint8Array) => `wattwall.site.${siteFingerprint(siteKey)}.meter-fv`;

/** The secrets a backup must carry for a new tablet to take over the bus. */
export function siteSecrets(siteKey: Uint8Array, storage: KeyValueStorage): SiteSecrets {
  const counter = storage.getItem(counterItem(siteKey));
  const fvs = storage.getItem(meterFvItem(siteKey));
  const meterFv: Record<string, number> = {};
  if (fvs) for (const [uid, fv] of Object.entries(JSON.parse(fvs) as Record<string, unknown>)) if (typeof fv === 'number') meterFv[uid] = fv;
  return { siteKeyHex: toHex(siteKey), senderReservedEnd: counter && /^\d+$/.test(counter) ? Number(counter) : undefined, meterFv };
}

/**
 * Installs restored secrets: the site key becomes this installation's, the counter continues past
 * both the backup's and the local reservation, and each meter's last FV is the newer of the two.
 */
export function applySiteSecrets(secrets: SiteSecrets, storage: KeyValueStorage): Uint8Array {
  const siteKey = parseSiteKey(secrets.siteKeyHex);
  if (!siteKey) throw new Error('the backup does not hold a valid site key');
  const local = siteSecrets(siteKey, storage);
  const reserved = Math.max(local.senderReservedEnd ?? 0, secrets.senderReservedEnd ?? 0);
  storage.setItem(counterItem(siteKey), String(Math.min(0xffffffff, reserved + RESTORE_COUNTER_SKIP)));
  const merged: Record<string, number> = { ...local.meterFv };
  for (const [uid, fv] of Object.entries(secrets.meterFv)) merged[uid] = Math.max(merged[uid] ?? 0, fv);
  storage.setItem(meterFvItem(siteKey), JSON.stringify(merged));
  storage.setItem(SITE_KEY_ITEM, toHex(siteKey));
  return siteKey;
}

const SHOWN_ITEM = 'wattwall.site-key-shown';

/** The site key has been shown to the user once (for provisioning); it is not shown again unasked. */
export function siteKeyShown(storage: KeyValueStorage): boolean {
  return storage.getItem(SHOWN_ITEM) === '1';
}

export function markSiteKeyShown(storage: KeyValueStorage): void {
  storage.setItem(SHOWN_ITEM, '1');
}

/**
 * A new site key replaces the old one: every meter must be provisioned again with it, and the
 * history starts in a new database (the old one stays, under the old key's fingerprint).
 */
export function replaceSiteKey(storage: KeyValueStorage): Uint8Array {
  const key = generateSiteKey();
  storage.setItem(SITE_KEY_ITEM, toHex(key));
  storage.setItem(SHOWN_ITEM, '0');
  return key;
}
