/** How the Bill screen writes money, energy, months and bill lines, in the screen's language. */
import type { Locale } from '../../lib/i18n/translate';
import type { BillLine } from '../../lib/tariff/billing';
import { localMonthRange } from '../../lib/tariff/zone';
import { numberFormat } from '../../lib/format/number';
import type { I18n } from '../../state/i18n.svelte';

export function money(i18n: I18n, cents: number, currency: string): string {
  return i18n.money(cents / 100, currency);
}

/** mWh as kWh, to the Wh. */
export function kwh(locale: Locale, mwh: number): string {
  return `${numberFormat(locale, 3).format(mwh / 1_000_000)} kWh`;
}

/** A rate per kWh with up to four decimals. */
export function rate(locale: Locale, perKwh: number, currency: string): string {
  return `${new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: 4, maximumFractionDigits: 4 }).format(perKwh)}/kWh`;
}

export function monthName(locale: Locale, month: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone }).format(localMonthRange(month, timeZone).start);
}

/** A bill line's label in the screen's language (the library's labels are English). */
export function lineLabel(i18n: I18n, line: BillLine, timeZone: string, vatPercent: number, billedUntil: number): string {
  switch (line.kind) {
    case 'energy':
      return line.band ? i18n.t('bill.line.energyBand', { band: line.band }) : i18n.t('bill.line.energy');
    case 'grid-fee':
      return line.band ? i18n.t('bill.line.gridBand', { band: line.band }) : i18n.t('bill.line.grid');
    case 'excise':
      return i18n.t('bill.line.excise');
    case 'fixed-fee': {
      if (!line.month) return i18n.t('bill.line.fixed', { month: '' });
      const part = billedUntil < localMonthRange(line.month, timeZone).end;
      return i18n.t(part ? 'bill.line.fixedPart' : 'bill.line.fixed', { month: monthName(i18n.locale, line.month, timeZone) });
    }
    case 'vat':
      return i18n.t('bill.line.vat', { rate: i18n.number(vatPercent, Number.isInteger(vatPercent) ? 0 : 1) });
    case 'feed-in':
      return i18n.t('bill.line.feedIn');
  }
}
