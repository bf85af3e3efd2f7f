/**
 * Messages for people, in English and Italian. Each language is a flat dictionary with the same
 * keys (the compiler checks that Italian has every English key); `{name}` placeholders are filled
 * from the parameters. Numbers, dates and units go through Intl with the same locale. English is
 * built in; Italian loads when first chosen.
 */
import { en } from './en';

export type MessageKey = keyof typeof en;
export type Locale = 'en' | 'it';
export const LOCALES: readonly Locale[] = ['en', 'it'];
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = { en: 'English', it: 'Italiano' };

export type Dictionary = Readonly<Record<MessageKey, string>>;
const dictionaries: Partial<Record<Locale, Dictionary>> = { en };

export type MessageParams = Readonly<Record<string, string | number>>;

/** Makes a language's messages available; English always is. */
export async function loadLocale(locale: Locale): Promise<void> {
  if (dictionaries[locale]) return;
  if (locale === 'it') dictionaries.it = (await import('./it')).it;
}

/** The text of `key` in `locale` (English while that language has not loaded). */
export function translate(locale: Locale, key: MessageKey, params: MessageParams = {}): string {
  const template = dictionaries[locale]?.[key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole: string, name: string) => (name in params ? String(params[name]) : whole));
}

/** The browser's preferred language if we have it, else English. */
export function preferredLocale(languages: readonly string[] = globalThis.navigator?.languages ?? []): Locale {
  for (const language of languages) {
    const base = language.toLowerCase().split('-')[0];
    if (base === 'it' || base === 'en') return base;
  }
  return 'en';
}
