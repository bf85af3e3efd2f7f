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

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, ScatterController, LinearScale, TimeScale, Tooltip, Legend, Filler, Decimation, zoomPlugin);

export { Chart };

/** The theme's colours, read from the CSS variables so charts follow light and dark. */
export function themeColors(): { text: string; muted: string; grid: string; import: string; export: string; accent: string; warn: string; danger: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { text: v('--text'), muted: v('--muted'), grid: v('--border'), import: v('--import'), export: v('--export'), accent: v('--accent'), warn: v('--warn'), danger: v('--danger') };
}
