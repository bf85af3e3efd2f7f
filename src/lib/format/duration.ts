import { numberFormat } from './number';

/** A span of time for people: seconds below a minute and a half, minutes below an hour and a half, then hours and minutes. */
export function formatDuration(seconds: number, locale = 'en', never = '—'): string {
  if (!Number.isFinite(seconds)) return never;
  const s = Math.max(0, Math.round(seconds));
  const n = (v: number) => numberFormat(locale, 0).format(v);
  if (s < 90) return `${n(s)} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 90) return `${n(minutes)} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${n(h)} h` : `${n(h)} h ${n(m)} min`;
}
