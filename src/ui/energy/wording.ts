/** The energy manager's log and figures in the screen's language. */
import type { Wording } from '../../lib/energy/describe';
import { formatDuration } from '../../lib/format/duration';
import { formatPower } from '../../lib/format/power';
import type { MessageKey } from '../../lib/i18n/translate';
import type { EnergyState } from '../../state/energy.svelte';
import type { I18n } from '../../state/i18n.svelte';

export function wording(i18n: I18n, energy: EnergyState): Wording {
  return {
    power: (w) => formatPower(w, i18n.locale),
    duration: (s) => formatDuration(s, i18n.locale, i18n.t('energy.never')),
    time: (ms) => i18n.time(ms),
    load: (uid) => energy.nameOf(uid),
    priority: (uid) => String(energy.priorityOf(uid) ?? '?'),
    t: i18n.t,
  };
}

const BECAUSE: Readonly<Record<string, MessageKey>> = {
  'first plan': 'energy.because.first plan',
  'the programmes changed': 'energy.because.the programmes changed',
  'a new slot began': 'energy.because.a new slot began',
  'the horizon changed': 'energy.because.the horizon changed',
  'the prices changed': 'energy.because.the prices changed',
  'the forecast changed': 'energy.because.the forecast changed',
  'the base load forecast changed': 'energy.because.the base load forecast changed',
  'the import limit changed': 'energy.because.the import limit changed',
  'a programme started': 'energy.because.a programme started',
  'a programme ended': 'energy.because.a programme ended',
};

/** The runner's reason for a new plan, in words (it speaks English). */
export function becauseText(i18n: I18n, because: string | undefined): string {
  if (!because) return '';
  const key = BECAUSE[because];
  return key ? i18n.t(key) : because;
}

/** An hour-and-minute range, for runs. */
export function runsText(i18n: I18n, runs: readonly { start: number; end: number }[]): string {
  return runs.map((r) => `${i18n.time(r.start)}–${i18n.time(r.end)}`).join(', ');
}

/** `YYYY-MM-DDTHH:MM` in local time, for datetime-local inputs. */
export function localInputValue(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** How long a load can be forced, or a switch by hand held, minutes. */
export const HOLD_MINUTES: readonly number[] = [15, 30, 60, 120, 240, 480, 1440];

export function holdLabel(i18n: I18n, minutes: number): string {
  return minutes < 60 ? i18n.t('energy.minutes', { count: minutes }) : i18n.t('energy.hours', { count: minutes / 60 });
}
