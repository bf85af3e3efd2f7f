/** Power for people: watts below 10 kW (a tile must show a 1 % change), kilowatts above. */
export function formatPower(watts: number, locale = 'en'): string {
  if (!Number.isFinite(watts)) return '—';
  const abs = Math.abs(watts);
  if (abs < 10_000) {
    return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(Math.round(watts) || 0)} W`;
  }
  return `${new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(watts / 1000)} kW`;
}
