/**
 * Chart.js with what the screens use, registered once: loaded on demand by the chart components,
 * so the first screen's JavaScript stays small.
 */
import {
  BarController,
  BarElement,
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  TimeScale,
  Tooltip,
} from 'chart.js';
import 'chartjs-adapter-date-fns';
import zoomPlugin from 'chartjs-plugin-zoom';
import { enGB } from 'date-fns/locale/en-GB';
import { it } from 'date-fns/locale/it';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, ScatterController, LinearScale, TimeScale, Tooltip, Legend, Filler, Decimation, zoomPlugin);

export { Chart };

/** date-fns's locale for the time axis: 24-hour clocks and day names in the app's language. */
export function dateLocale(locale: string): typeof enGB {
  return locale === 'it' ? it : enGB;
}

export type ThemeColor = 'text' | 'muted' | 'grid' | 'import' | 'export' | 'accent' | 'warn' | 'danger';
const VARIABLES: Readonly<Record<ThemeColor, string>> = { text: '--text', muted: '--muted', grid: '--border', import: '--import', export: '--export', accent: '--accent', warn: '--warn', danger: '--danger' };

/**
 * The theme's colours as the browser resolves them (the palette uses light-dark(), which only a
 * rendered property resolves), so charts follow light and dark.
 */
export function themeColors(): Record<ThemeColor, string> {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  document.body.append(probe);
  try {
    const out = {} as Record<ThemeColor, string>;
    for (const [name, variable] of Object.entries(VARIABLES) as [ThemeColor, string][]) {
      probe.style.color = `var(${variable})`;
      out[name] = getComputedStyle(probe).color;
    }
    return out;
  } finally {
    probe.remove();
  }
}

/** `rgb(r, g, b)` with an opacity. */
export function withAlpha(color: string, alpha: number): string {
  const m = /rgba?\(([^)]+)\)/.exec(color);
  if (!m?.[1]) return color;
  const [r, g, b] = m[1].split(/[\s,/]+/).filter(Boolean);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
