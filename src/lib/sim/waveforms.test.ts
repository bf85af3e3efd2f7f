import { describe, expect, it } from 'vitest';
import {
  activePower,
  currentRms,
  cycling,
  electronics,
  EUROPEAN_SUPPLY,
  instantaneous,
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
});
