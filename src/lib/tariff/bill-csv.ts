/**
 * CSV export of a bill: its lines (what the supplier charges), and its detail slot by slot (what
 * each load cost in each 15-minute slot). Comma separated, a point for decimals, RFC 4180 quoting;
 * amounts of lines to the cent, slot amounts to 1e-6 currency (they are not rounded to cents on
 * any bill); energies in kWh with six decimals, exact from mWh.
 */
import type { Bill } from './billing';
import { formatCents, formatKwh } from './money';
import { importPricePerKwh, type Tariff } from './tariff';
import { localDateTime, utcOffsetMs } from './zone';

function field(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const row = (values: readonly (string | number | undefined)[]): string => values.map(field).join(',');

/** A rate for a CSV cell: up to nine decimals, no float noise. */
function rate(value: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return String(Math.round(value * 1e9) / 1e9);
}

function micros(value: number): string {
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

/** Local wall time with its offset, `2025-10-26 02:15 +01:00`, so the repeated hour reads unambiguously. */
export function localStamp(ms: number, timeZone: string): string {
  const t = localDateTime(ms, timeZone);
  const offset = utcOffsetMs(ms, timeZone) / 60_000;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)} ${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The bill's lines, then its total. */
export function billLinesCsv(bill: Bill): string {
  const lines = [row(['kind', 'label', 'band', 'month', 'quantity_kwh', 'rate_per_kwh', 'amount', 'currency'])];
  for (const l of bill.lines) {
    lines.push(row([l.kind, l.label, l.band, l.month, l.quantityMwh === undefined ? undefined : formatKwh(l.quantityMwh), rate(l.ratePerKwh), formatCents(l.amountCents), bill.currency]));
  }
  lines.push(row(['total', 'Total', undefined, undefined, undefined, undefined, formatCents(bill.totalCents), bill.currency]));
  return lines.join('\r\n') + '\r\n';
}

/**
 * One row per slot and cost centre (its consumption, grid share and cost, VAT included), and per
 * slot the site's grid import (its charges) and export (its credit, negative).
 */
export function billSlotsCsv(bill: Bill, tariff: Pick<Tariff, 'timeZone' | 'vatPercent'>): string {
  const lines = [row(['slot_start_utc', 'slot_start_local', 'band', 'price_source', 'spot_per_kwh', 'import_price_per_kwh', 'feed_in_per_kwh', 'meter', 'role', 'consumption_kwh', 'grid_kwh', 'self_supplied_kwh', 'cost', 'currency'])];
  const roles = new Map(bill.centres.map((c) => [c.id, c.role] as const));
  for (const s of bill.slots) {
    const head = [new Date(s.start).toISOString(), localStamp(s.start, tariff.timeZone), s.band, s.rates.energySource, rate(s.spot), rate(importPricePerKwh(s.rates, tariff.vatPercent)), rate(s.rates.feedIn)];
    for (const c of s.centres) {
      lines.push(row([...head, c.id, roles.get(c.id), formatKwh(c.consumptionMwh), formatKwh(c.gridMwh), formatKwh(Math.max(0, c.consumptionMwh - c.gridMwh)), micros(c.costMicros), bill.currency]));
    }
    lines.push(row([...head, 'site', 'grid-import', undefined, formatKwh(s.importMwh), undefined, micros(s.importMicros), bill.currency]));
    if (s.exportMwh > 0) lines.push(row([...head, 'site', 'grid-export', undefined, formatKwh(s.exportMwh), undefined, micros(-s.creditMicros), bill.currency]));
  }
  return lines.join('\r\n') + '\r\n';
}
