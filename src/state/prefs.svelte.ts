/**
 * This device's preferences (not the site's): theme, night dimming. Kept in localStorage.
 */
export type Theme = 'system' | 'light' | 'dark';

export interface Dimming {
  readonly enabled: boolean;
  /** "22:30": when the screen dims, local time. */
  readonly from: string;
  /** "06:30": when it brightens again. */
  readonly to: string;
}

const THEME_KEY = 'wattwall.theme';
const DIMMING_KEY = 'wattwall.dimming';

function readDimming(): Dimming {
  try {
    const d = JSON.parse(globalThis.localStorage?.getItem(DIMMING_KEY) ?? 'null') as Dimming | null;
    if (d && typeof d.enabled === 'boolean' && /^\d\d:\d\d$/.test(d.from) && /^\d\d:\d\d$/.test(d.to)) return d;
  } catch {
    // a damaged entry: the default
  }
  return { enabled: false, from: '22:30', to: '06:30' };
}

/** Minutes since midnight of "HH:MM". */
function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Whether local time `date` falls in a dimming window that may span midnight. */
export function inDimmingWindow(dimming: Dimming, date: Date): boolean {
  if (!dimming.enabled) return false;
  const now = date.getHours() * 60 + date.getMinutes();
  const from = minutes(dimming.from);
  const to = minutes(dimming.to);
  return from <= to ? now >= from && now < to : now >= from || now < to;
}

export class Prefs {
  theme = $state<Theme>(((globalThis.localStorage?.getItem(THEME_KEY) as Theme | null) ?? 'system') as Theme);
  dimming = $state.raw<Dimming>(readDimming());

  setTheme(theme: Theme): void {
    this.theme = theme;
    globalThis.localStorage?.setItem(THEME_KEY, theme);
    this.apply();
  }

  setDimming(dimming: Dimming): void {
    this.dimming = dimming;
    globalThis.localStorage?.setItem(DIMMING_KEY, JSON.stringify(dimming));
  }

  /** Puts the theme on the document: `system` follows prefers-color-scheme in CSS. */
  apply(): void {
    if (!globalThis.document) return;
    if (this.theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = this.theme;
  }
}

export const prefs = new Prefs();
