/** Billing periods: whole local months, `periodMonths` long, aligned so that one starts in `firstMonth`. */
import type { Tariff } from './tariff';
import { addMonths, type LocalMonth, localMonthOf, localMonthRange } from './zone';

export interface BillingPeriod {
  /** UTC ms, local midnight of the first day. */
  readonly start: number;
  /** UTC ms, exclusive. */
  readonly end: number;
  /** The calendar months of the period, in order. */
  readonly months: readonly LocalMonth[];
}

/** The billing period that starts in, or contains, local month `month`. */
export function billingPeriodOfMonth(month: LocalMonth, tariff: Pick<Tariff, 'billing' | 'timeZone'>): BillingPeriod {
  const { periodMonths, firstMonth } = tariff.billing;
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;
  const offset = (((index - (firstMonth - 1)) % periodMonths) + periodMonths) % periodMonths;
  const first = addMonths(month, -offset);
  const months = Array.from({ length: periodMonths }, (_, i) => addMonths(first, i));
  const last = months[months.length - 1] ?? first;
  return { start: localMonthRange(first, tariff.timeZone).start, end: localMonthRange(last, tariff.timeZone).end, months };
}

/** The billing period that contains the instant `ms`. */
export function billingPeriodAt(ms: number, tariff: Pick<Tariff, 'billing' | 'timeZone'>): BillingPeriod {
  return billingPeriodOfMonth(localMonthOf(ms, tariff.timeZone), tariff);
}
