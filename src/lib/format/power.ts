import { numberFormat } from './number';

/** Power for people: watts below 10 kW (a tile must show a 1 % change), kilowatts above. */
export function formatPower(watts: number, locale = 'en'): string {
  if (!Number.isFinite(watts)) return '—';
  const abs = Math.abs(watts);
  if (abs < 10_000) {
    return `${numberFormat(locale, 0).format(Math.round(watts) || 0)} W`;
  }
  return `${numberFormat(locale, 1).format(watts / 1000)} kW`;
}

/** Energy for people: Wh below 10 kWh, kWh with two decimals below 1 MWh, then MWh. */
export function formatEnergy(wh: number, locale = 'en'): string {
  if (!Number.isFinite(wh)) return '—';
  const abs = Math.abs(wh);
  const n = (value: number, digits: number) => numberFormat(locale, digits).format(value);
  if (abs < 10_000) return `${n(Math.round(wh) || 0, 0)} Wh`;
  if (abs < 1_000_000) return `${n(wh / 1000, 2)} kWh`;
  return `${n(wh / 1_000_000, 3)} MWh`;
}
