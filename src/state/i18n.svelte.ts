/** The language of the screens, and the app's one way to turn message keys into text. */
import { loadLocale, type Locale, type MessageKey, type MessageParams, preferredLocale, translate } from '../lib/i18n/translate';
import { moneyFormat, numberFormat } from '../lib/format/number';

const STORAGE_KEY = 'wattwall.language';

function stored(): Locale | undefined {
  const value = globalThis.localStorage?.getItem(STORAGE_KEY);
  return value === 'en' || value === 'it' ? value : undefined;
}

export class I18n {
  /** The language shown: switched only once its messages have loaded. */
  locale = $state<Locale>('en');
  /** The language wanted (stored, or the browser's). */
  readonly wanted: Locale = stored() ?? preferredLocale();

  t = (key: MessageKey, params?: MessageParams): string => translate(this.locale, key, params);

  /** Loads the wanted language before the first screen shows. */
  async init(): Promise<void> {
    await this.#use(this.wanted).catch(() => undefined);
  }

  async setLocale(locale: Locale): Promise<void> {
    await this.#use(locale);
    globalThis.localStorage?.setItem(STORAGE_KEY, locale);
  }

  async #use(locale: Locale): Promise<void> {
    await loadLocale(locale);
    this.locale = locale;
    if (globalThis.document) document.documentElement.lang = locale;
  }

  number(value: number, digits = 0): string {
    return numberFormat(this.locale, digits).format(value);
  }

  money(value: number, currency: string): string {
    return moneyFormat(this.locale, currency).format(value);
  }

  time(ms: number): string {
    return new Date(ms).toLocaleTimeString(this.locale, { hour: '2-digit', minute: '2-digit' });
  }

  dateTime(ms: number): string {
    return new Date(ms).toLocaleString(this.locale, { dateStyle: 'short', timeStyle: 'medium' });
  }
}

export const i18n = new I18n();
