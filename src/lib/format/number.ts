/**
 * Number formatters, made once per locale and style: creating an Intl.NumberFormat costs about
 * a hundred times a format() call, and the live tiles format dozens of figures every poll.
 */
const formatters = new Map<string, Intl.NumberFormat>();

function cached(key: string, options: Intl.NumberFormatOptions, locale: string): Intl.NumberFormat {
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}

/** A fixed number of decimals (or between `minimumFractionDigits` and `maximumFractionDigits`). */
export function numberFormat(locale: string, minimumFractionDigits: number, maximumFractionDigits = minimumFractionDigits): Intl.NumberFormat {
  return cached(`${locale}|${minimumFractionDigits}|${maximumFractionDigits}`, { minimumFractionDigits, maximumFractionDigits }, locale);
}

/** Money in `currency`, with that currency's usual decimals. */
export function moneyFormat(locale: string, currency: string): Intl.NumberFormat {
  return cached(`${locale}|${currency}`, { style: 'currency', currency }, locale);
}
