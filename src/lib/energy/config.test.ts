import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { connectionOf, DEFAULT_ENERGY_CONFIG, DEFAULT_GUARD_PREFS, EnergyConfigError, validateEnergyConfig } from './config';
import { profileDurationMs } from './profile';
import { PROGRAMME_PRESETS, ProgrammeError, programmeRequest } from './programmes';
import { inputsFrom, meterHistory, solarSiteOf } from './site-inputs';
import { freePowerW, timeToTripS } from './trip-curve';

const NOW = Date.UTC(2026, 5, 10, 10, 7);

describe('energy settings', () => {
  it('fills what is missing with the defaults and keeps what is given', () => {
    expect(validateEnergyConfig({})).toEqual(DEFAULT_ENERGY_CONFIG);
    const c = validateEnergyConfig({ guard: { restoreAfterS: 20 }, loads: { abc: { managed: false } }, overrides: [{ uid: 'abc', on: true, until: 5 }] });
    expect(c.guard).toEqual({ ...DEFAULT_GUARD_PREFS, restoreAfterS: 20 });
    expect(c.loads.abc).toEqual({ managed: false, minOnS: 0, minOffS: 0 });
    // a load is switched only once the user allows it
    expect(validateEnergyConfig({ loads: { x: { minOnS: 60 } } }).loads.x).toEqual({ managed: false, minOnS: 60, minOffS: 0 });
    expect(c.overrides).toEqual([{ uid: 'abc', on: true, until: 5 }]);
  });

  it('names the field at fault', () => {
    const fault = (input: unknown) => {
      try {
        validateEnergyConfig(input);
      } catch (e) {
        return e instanceof EnergyConfigError ? e.path : 'other';
      }
      return 'none';
    };
    expect(fault({ guard: { tripSeconds: 1 } })).toBe('guard.tripSeconds');
    expect(fault({ guard: { freePercent: 140, toleratedPercent: 130 } })).toBe('guard.toleratedPercent');
    expect(fault({ loads: { x: { minOnS: -1 } } })).toBe('loads.x.minOnS');
    expect(fault({ programmes: [{ id: 'a' }] })).toBe('programmes.0.profile');
    expect(fault({ version: 2 })).toBe('version');
    expect(fault('x')).toBe('');
  });

  it('makes the Italian trip curve of the contract: 110 % for ever, 133 % for three hours, a trip in two minutes above', () => {
    const c = connectionOf(DEFAULT_GUARD_PREFS, 3000);
    expect(freePowerW(c)).toBe(3300);
    const idle = c.bands.map(() => 0);
    expect(timeToTripS(c, idle, 3300)).toBe(Infinity);
    expect(timeToTripS(c, idle, 3900)).toBeCloseTo(3 * 3600);
    expect(timeToTripS(c, idle, 4000)).toBeCloseTo(120);
  });

  it('keeps planned runs through a round trip', () => {
    const p = programmeRequest({ uid: 'u', programme: 'washer-40', earliestStart: NOW, latestEnd: NOW + 8 * 3_600_000, strategy: 'solar', meterInterruptible: true }, NOW, 'id1');
    const c = validateEnergyConfig(JSON.parse(JSON.stringify({ ...DEFAULT_ENERGY_CONFIG, programmes: [p, { ...p, id: 'id2', ended: { at: NOW, how: 'done' } }] })));
    expect(c.programmes).toEqual([p, { ...p, id: 'id2', ended: { at: NOW, how: 'done' } }]);
    expect(() => validateEnergyConfig({ programmes: [p, p] })).toThrow(/two planned runs/);
  });
});

describe('a deferrable run the user asks for', () => {
  const base = { uid: 'u', programme: 'washer-40', earliestStart: NOW, latestEnd: NOW + 4 * 3_600_000, strategy: 'cost' as const, meterInterruptible: true };
  const problem = (patch: object) => {
    try {
      programmeRequest({ ...base, ...patch }, NOW, 'x');
    } catch (e) {
      return e instanceof ProgrammeError ? e.problem : 'other';
    }
    return 'none';
  };

  it('takes the preset programme, and never pauses a load that must not be cut', () => {
    const washer = programmeRequest(base, NOW, 'a');
    expect(washer.profile).toEqual(PROGRAMME_PRESETS.find((p) => p.id === 'washer-40')?.steps);
    expect(washer.interruptible).toBe(false);
    expect(programmeRequest({ ...base, programme: 'ev-2h' }, NOW, 'b').interruptible).toBe(true);
    expect(programmeRequest({ ...base, programme: 'ev-2h', meterInterruptible: false }, NOW, 'c').interruptible).toBe(false);
    expect(programmeRequest({ ...base, programme: 'custom', watts: 1500, minutes: 40 }, NOW, 'd').profile).toEqual([{ minutes: 40, watts: 1500 }]);
  });

  it('refuses what cannot be planned, saying why', () => {
    expect(problem({ programme: 'nope' })).toBe('unknown-programme');
    expect(problem({ programme: 'custom', watts: 0, minutes: 10 })).toBe('bad-power');
    expect(problem({ programme: 'custom', watts: 100, minutes: 0 })).toBe('bad-duration');
    expect(problem({ latestEnd: NOW - 1, earliestStart: NOW - 10 })).toBe('window-past');
    expect(problem({ latestEnd: NOW })).toBe('window-order');
    expect(problem({ latestEnd: NOW + 60 * 60_000 })).toBe('window-short');
    expect(problem({ latestEnd: NOW + 49 * 3_600_000 })).toBe('window-long');
    expect(problem({ earliestStart: Number.NaN })).toBe('bad-time');
    expect(problem({ strategy: 'cheapest' })).toBe('bad-strategy');
    expect(problem({})).toBe('none');
  });

  it('has presets that are sane programmes', () => {
    for (const p of PROGRAMME_PRESETS) {
      expect(profileDurationMs(p.steps)).toBeGreaterThan(0);
      expect(Math.max(...p.steps.map((s) => s.watts))).toBeLessThan(3500);
    }
  });
});

describe('planner inputs from the site', () => {
  it('sums the meters per slot into average power, and leaves unrecorded slots empty', () => {
    const from = Date.UTC(2026, 5, 1);
    const slots = [
      { meterId: 'a', start: from, importMwh: 250_000, exportMwh: 0 },
      { meterId: 'b', start: from, importMwh: 50_000, exportMwh: 0 },
      { meterId: 'pv', start: from, importMwh: 0, exportMwh: 400_000 },
      { meterId: 'a', start: from + 2 * SLOT_MS, importMwh: 100_000, exportMwh: 0 },
      { meterId: 'a', start: from + 9 * SLOT_MS, importMwh: 100_000, exportMwh: 0 },
    ];
    const h = meterHistory(slots, new Set(['a', 'b']), from, 4);
    // 300 Wh in a quarter of an hour is 1200 W on average
    expect(h.watts).toEqual([1200, null, 400, null]);
    expect(() => meterHistory(slots, new Set(['a']), from + 1, 4)).toThrow(/grid/);
  });

  it('turns the settings\' azimuth from north into the forecast\'s from south', () => {
    const site = (azimuthDeg: number) => solarSiteOf({ latitude: 45, longitude: 7.7, peakWatts: 4500, tiltDeg: 30, azimuthDeg }).arrays[0];
    expect(site(180)).toEqual({ kwp: 4.5, tiltDeg: 30, azimuthDeg: 0 });
    expect(site(90)?.azimuthDeg).toBe(-90);
    expect(site(270)?.azimuthDeg).toBe(90);
    expect(site(0)?.azimuthDeg).toBe(-180);
    expect(site(360)?.azimuthDeg).toBe(180);
  });

  it('moves inputs on to the slot of now, by time', () => {
    const start = Date.UTC(2026, 5, 1, 10);
    const inputs = { start, price: [1, 2, 3, 4], feedIn: [0, 0, 1, 1], solarW: [5, 6, 7, 8], baseW: [9, 9, 8, 8], importLimitW: [10, 20, 30, 40] };
    expect(inputsFrom(inputs, start + 100)).toBe(inputs);
    expect(inputsFrom(inputs, start + 2 * SLOT_MS + 5)).toEqual({ start: start + 2 * SLOT_MS, price: [3, 4], feedIn: [1, 1], solarW: [7, 8], baseW: [8, 8], importLimitW: [30, 40] });
    expect(inputsFrom(inputs, start + 4 * SLOT_MS)).toBeUndefined();
    expect(inputsFrom(inputs, start - 1)).toBeUndefined();
  });
});
