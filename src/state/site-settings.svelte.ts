/**
 * The site's settings as the screens edit them, saved with the site's history (and so in its
 * backups); and the PIN lock that guards switching loads and changing settings.
 */
import type { Historian } from '../lib/aggregator/historian';
import type { RemoteSiteSettings } from '../lib/remote/protocol';
import { checkPin, DEFAULT_SITE_SETTINGS, hashPin, type SiteSettings, validateSiteSettings } from '../lib/settings/site-settings';

const SETTINGS_KEY = 'site';
/** How long a correct PIN keeps the lock open, ms. */
export const UNLOCK_MS = 5 * 60_000;

export class SiteSettingsState {
  value = $state.raw<SiteSettings>(DEFAULT_SITE_SETTINGS);
  /** Until when the PIN lock is open (0: locked). */
  unlockedUntil = $state(0);
  readonly #historian: Historian;

  private constructor(historian: Historian) {
    this.#historian = historian;
  }

  static async load(historian: Historian): Promise<SiteSettingsState> {
    const state = new SiteSettingsState(historian);
    const stored = await historian.db.get('settings', SETTINGS_KEY);
    if (stored !== undefined) {
      try {
        state.value = validateSiteSettings(stored);
      } catch (error) {
        historian.log('warning', 'settings-damaged', `the stored settings were damaged and were reset: ${(error as Error).message}`);
      }
    }
    return state;
  }

  get hasPin(): boolean {
    return this.value.pin !== undefined;
  }

  /** No PIN, or the PIN was entered in the last five minutes. */
  isUnlocked(now = Date.now()): boolean {
    return !this.hasPin || now < this.unlockedUntil;
  }

  async unlock(pin: string, now = Date.now()): Promise<boolean> {
    const stored = this.value.pin;
    if (!stored) return true;
    const ok = await checkPin(pin, stored);
    if (ok) this.unlockedUntil = now + UNLOCK_MS;
    return ok;
  }

  lock(): void {
    this.unlockedUntil = 0;
  }

  /** Validates and saves; throws SettingsError for a bad value (nothing is saved then). */
  async save(patch: Partial<SiteSettings>): Promise<void> {
    const next = validateSiteSettings({ ...this.value, ...patch });
    this.#historian.putSetting(SETTINGS_KEY, next);
    const result = await this.#historian.flush();
    if (!result.ok) throw new Error(`the settings could not be saved: ${result.error ?? 'unknown error'}`);
    this.value = next;
  }

  /**
   * A remote viewer's copy of the site's settings: its contracted power and tariff, with prices
   * from the site (the `file` source the replica fills). The PIN stays at the site, which checks it.
   */
  adoptRemote(remote: RemoteSiteSettings): void {
    const next = validateSiteSettings({ ...this.value, contractedPowerW: remote.contractedPowerW, tariff: remote.tariff, priceSource: { provider: 'file', currency: remote.tariff.currency }, pin: undefined });
    this.#historian.putSetting(SETTINGS_KEY, next);
    this.value = next;
  }

  async setPin(pin: string | undefined): Promise<void> {
    await this.save({ pin: pin === undefined ? undefined : await hashPin(pin) });
    this.unlockedUntil = pin === undefined ? 0 : Date.now() + UNLOCK_MS;
  }
}
