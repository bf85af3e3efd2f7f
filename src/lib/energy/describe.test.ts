import { beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../format/duration';
import { formatPower } from '../format/power';
import { type Locale, loadLocale, translate } from '../i18n/translate';
import { describeEntry, entryText, type Wording } from './describe';
import { ContractGuard, type GuardLogEntry } from './guard';
import { italianConnection } from './trip-curve';

const T0 = Date.UTC(2026, 5, 10, 12, 0);

function wording(locale: Locale): Wording {
  return {
    power: (w) => formatPower(w, locale),
    duration: (s) => formatDuration(s, locale, 'never'),
    time: (ms) => new Date(ms).toISOString().slice(11, 16),
    load: (id) => ({ oven: 'Oven', kettle: 'Kettle', washer: 'Washer' })[id] ?? id,
    priority: () => '70',
    t: (key, params) => translate(locale, key, params),
  };
}

/** A guard taken through most of what it logs: overload, shed, refusal, override, plans, restore. */
function story(): GuardLogEntry[] {
  const g = new ContractGuard({ connection: italianConnection(3000) }, [
    { id: 'oven', priority: 30, interruptible: true },
    { id: 'kettle', priority: 80, interruptible: true },
    { id: 'washer', priority: 50, interruptible: false },
  ]);
  const loads = (oven: boolean, kettle: boolean, washer: boolean, washerW = 0) => [
    { id: 'oven', powerW: oven ? 2400 : 0, relayOn: oven },
    { id: 'kettle', powerW: kettle ? 2000 : 0, relayOn: kettle },
    { id: 'washer', powerW: washer ? washerW : 0, relayOn: washer },
  ];
  let t = T0;
  const step = (l: ReturnType<typeof loads>) => g.step({ at: (t += 1000), loads: l });
  step(loads(true, true, true, 1900)); // the washer mid-cycle: it may not be shed
  for (let i = 0; i < 7; i++) step(loads(true, true, true, 1900));
  g.refused('oven', (t += 500), 'busy');
  for (let i = 0; i < 12; i++) step(loads(true, true, true, 1900));
  for (let i = 0; i < 80; i++) step(loads(true, false, true, 1900));
  g.override('kettle', true, t + 60_000, t, 'user');
  g.manual('oven', false, t + 120_000, t);
  step(loads(false, false, true, 1900));
  step(loads(false, true, true, 1900)); // someone else switched the kettle on
  g.clearOverride('kettle', t);
  g.want('washer', false, 'waits', 1900, { kind: 'wait', from: t + 3_600_000, to: t + 7_200_000 });
  for (let i = 0; i < 700; i++) step(loads(false, true, true, 2));
  g.setConnection(italianConnection(4500), t);
  step(loads(false, true, false));
  return [...g.log];
}

describe('the guard log in words', () => {
  beforeAll(() => loadLocale('it'));

  it('says every entry in English and Italian with every placeholder filled', () => {
    const log = story();
    const kinds = new Set(log.map((e) => (e.kind === 'action' ? `action:${e.reason}` : e.kind)));
    // the story reaches most kinds of entry
    for (const k of ['overload', 'action:shed', 'refused', 'cannot-shed', 'override-set', 'action:override', 'external-switch', 'override-ended', 'action:stop', 'limit', 'back-under']) expect(kinds, k).toContain(k);
    for (const locale of ['en', 'it'] as const) {
      for (const e of log) {
        const text = entryText(e, wording(locale));
        expect(text, `${locale} ${e.kind}`).not.toMatch(/\{\w+\}/);
        expect(text.length).toBeGreaterThan(10);
      }
    }
  });

  it('names the load, the numbers and the reason of a shed', () => {
    const shed = story().find((e) => e.kind === 'action' && e.reason === 'shed');
    if (!shed) throw new Error('no shed');
    expect(describeEntry(shed, wording('en')).key).toBe('energy.log.shed');
    expect(entryText(shed, wording('en'))).toMatch(/^Oven off: the site drew 6,300 W, above the 3,300 W allowed, and it is the lowest priority that may go \(priority 70, 2,400 W\)\. The meter would have tripped in 2 min\.$/);
    expect(entryText(shed, wording('it'))).toMatch(/^Distacco di Oven: l'impianto prelevava 6\.?300 W, oltre i 3\.?300 W consentiti/);
    const locked = story().find((e) => e.kind === 'cannot-shed');
    expect(locked && entryText(locked, wording('en'))).toMatch(/Washer is in the middle of its cycle/);
  });
});
