import { describe, expect, it } from 'vitest';
import {
  activePower,
  currentRms,
  cycling,
  electronics,
  EUROPEAN_SUPPLY,
  harmonicDistortion,
  instantaneous,
  supplyDisturbed,
  supplyEnvelope,
  photovoltaic,
  programme,
  voltageRms,
  type Waveform,
  waveformOf,
} from './waveforms';

/** Numerical averages over whole cycles: an independent check of the closed forms the tests rely on. */
function integrate(w: Waveform): { p: number; vrms: number; irms: number } {
  const n = 100_000;
  const period = 10 / w.frequency;
  let p = 0;
  let v2 = 0;
  let i2 = 0;
  for (let k = 0; k < n; k++) {
    const { v, i } = instantaneous(w, (k * period) / n);
    p += v * i;
    v2 += v * v;
    i2 += i * i;
  }
  return { p: p / n, vrms: Math.sqrt(v2 / n), irms: Math.sqrt(i2 / n) };
}

describe('waveforms', () => {
  it.each([
    ['a resistive load', { power: 2000, powerFactor: 1, harmonics: [] }],
    ['electronics with harmonics', electronics(310)(0)],
    ['an inverter feeding back', { power: -1500, powerFactor: 0.97, harmonics: [{ order: 3, ratio: 0.04, phase: 0.3 }, { order: 5, ratio: 0.03, phase: 2.1 }] }],
  ])('closed-form power and rms match numerical integration for %s', (_, draw) => {
    const w = waveformOf(EUROPEAN_SUPPLY, draw);
    const numeric = integrate(w);
    expect(activePower(w)).toBeCloseTo(numeric.p, 6);
    expect(voltageRms(w)).toBeCloseTo(numeric.vrms, 6);
    expect(currentRms(w)).toBeCloseTo(numeric.irms, 6);
  });

  it('draws the power asked for at the fundamental, with the sign of the flow', () => {
    const pure = { ...EUROPEAN_SUPPLY, harmonics: [] };
    expect(activePower(waveformOf(pure, { power: 1234, powerFactor: 0.8, harmonics: [] }))).toBeCloseTo(1234, 9);
    expect(activePower(waveformOf(pure, { power: -800, powerFactor: 0.95, harmonics: [] }))).toBeCloseTo(-800, 9);
  });

  it('cycles, runs programmes and follows the sun', () => {
    const fridge = cycling(120, 900, 1500);
    expect(fridge(0).power).toBe(120);
    expect(fridge(1000).power).toBe(0);
    expect(fridge(2400 + 10).power).toBe(120);
    const washer = programme([
      { seconds: 60, draw: { power: 2000, powerFactor: 1, harmonics: [] } },
      { seconds: 60, draw: { power: 100, powerFactor: 1, harmonics: [] } },
    ]);
    expect([washer(30).power, washer(90).power, washer(150).power]).toEqual([2000, 100, 2000]);
    const pv = photovoltaic(3000, 13); // starts at solar noon
    expect(pv(0).power).toBeCloseTo(-3000, 0);
    expect(pv(10 * 3600).power).toBe(0); // 23:00
  });

  it('dips and swells the supply on its schedule, the current left as the load draws it', () => {
    const supply = { ...EUROPEAN_SUPPLY, events: [{ atSeconds: 2, durationSeconds: 0.1, ratio: 0.5, everySeconds: 60 }, { atSeconds: 5, durationSeconds: 0.05, ratio: 1.2 }] };
    expect(supplyEnvelope(supply, 1.99)).toBe(1);
    expect(supplyEnvelope(supply, 2.05)).toBe(0.5);
    expect(supplyEnvelope(supply, 2.1)).toBe(1);
    expect(supplyEnvelope(supply, 62.01)).toBe(0.5);
    expect(supplyEnvelope(supply, 5.01)).toBe(1.2);
    expect(supplyEnvelope(supply, 65.01)).toBe(1); // not repeated
    const w = waveformOf(supply, { power: 1000, powerFactor: 1, harmonics: [] });
    const t = 2.0 + 0.25 / 50; // a voltage peak inside the dip
    const normal = instantaneous({ ...w, envelope: () => 1 }, t);
    const dipped = instantaneous(w, t);
    expect(dipped.v).toBeCloseTo(normal.v * 0.5, 9);
    expect(dipped.i).toBeCloseTo(normal.i, 9);
    expect(supplyDisturbed(supply, 1.9, 1.99)).toBe(false);
    expect(supplyDisturbed(supply, 1.95, 2.01)).toBe(true);
    expect(supplyDisturbed(supply, 2.09, 2.2)).toBe(true);
    expect(supplyDisturbed(supply, 2.1, 2.2)).toBe(false);
    expect(supplyDisturbed(supply, 61.95, 62.0)).toBe(false);
    expect(supplyDisturbed(supply, 61.95, 62.01)).toBe(true);
    expect(supplyDisturbed(supply, 121.99, 122.01)).toBe(true);
    expect(supplyDisturbed(supply, 64.9, 65.1)).toBe(false); // the swell does not repeat
    expect(supplyDisturbed({ ...EUROPEAN_SUPPLY, events: [] }, 0, 1e6)).toBe(false);
    // the demo supply has disturbances to show, not in its first minute
    expect(EUROPEAN_SUPPLY.events?.length).toBeGreaterThan(0);
    for (let t2 = 0; t2 < 60; t2 += 0.01) expect(supplyEnvelope(EUROPEAN_SUPPLY, t2)).toBe(1);
  });

  it('gives the THD of a set of harmonics, up to the 40th', () => {
    expect(harmonicDistortion(EUROPEAN_SUPPLY.harmonics)).toBeCloseTo(100 * Math.sqrt(0.01 ** 2 + 0.015 ** 2), 9);
    expect(harmonicDistortion([{ order: 41, ratio: 0.5, phase: 0 }])).toBe(0);
    expect(harmonicDistortion([])).toBe(0);
  });
});
