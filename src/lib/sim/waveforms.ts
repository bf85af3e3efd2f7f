/**
 * Synthetic mains waveforms for simulated meters: a supply voltage with harmonics, and the current
 * a household load draws from it. Everything is analytic, so a test can compute the exact power a
 * meter was fed and hold the measurement chain (ADC, firmware core, protocol, app) to it.
 *
 *   v(t) = √2·V1·[sin(ωt) + Σ r_h·sin(hωt + α_h)]
 *   i(t) = √2·I1·[sin(ωt − φ) + Σ q_h·sin(hωt + β_h)]
 *
 * φ = 0 draws power, φ = π feeds it back (a PV inverter): the meter's sign convention is
 * positive for import.
 */

export interface Harmonic {
  readonly order: number;
  /** RMS amplitude relative to the fundamental. */
  readonly ratio: number;
  /** Phase in radians, at the harmonic's own frequency. */
  readonly phase: number;
}

export interface Waveform {
  readonly frequency: number;
  /**
   * The supply's r.m.s. relative to normal at time `t` (s): dips, swells and interruptions.
   * Absent: always 1. The current is left as the load draws it.
   */
  readonly envelope?: (t: number) => number;
  /** RMS of the voltage fundamental, V. */
  readonly voltage: number;
  readonly voltageHarmonics: readonly Harmonic[];
  /** RMS of the current fundamental, A. */
  readonly current: number;
  /** Lag of the current fundamental behind the voltage, radians. */
  readonly lag: number;
  readonly currentHarmonics: readonly Harmonic[];
}

const SQRT2 = Math.SQRT2;

export function instantaneous(w: Waveform, t: number): { v: number; i: number } {
  const wt = 2 * Math.PI * w.frequency * t;
  let v = Math.sin(wt);
  for (const h of w.voltageHarmonics) v += h.ratio * Math.sin(h.order * wt + h.phase);
  let i = Math.sin(wt - w.lag);
  for (const h of w.currentHarmonics) i += h.ratio * Math.sin(h.order * wt + h.phase);
  const envelope = w.envelope ? w.envelope(t) : 1;
  return { v: SQRT2 * w.voltage * envelope * v, i: SQRT2 * w.current * i };
}

/** Total harmonic distortion in percent of the fundamental (harmonics up to the 40th count). */
export function harmonicDistortion(harmonics: readonly Harmonic[]): number {
  return 100 * Math.sqrt(harmonics.filter((h) => h.order >= 2 && h.order <= 40).reduce((sum, h) => sum + h.ratio * h.ratio, 0));
}

function rmsFactor(harmonics: readonly Harmonic[]): number {
  return Math.sqrt(1 + harmonics.reduce((sum, h) => sum + h.ratio * h.ratio, 0));
}

export function voltageRms(w: Waveform): number {
  return w.voltage * rmsFactor(w.voltageHarmonics);
}

export function currentRms(w: Waveform): number {
  return w.current * rmsFactor(w.currentHarmonics);
}

/** Active power: each harmonic of the voltage works only with the current harmonic of the same order. */
export function activePower(w: Waveform): number {
  let p = w.voltage * w.current * Math.cos(w.lag);
  for (const vh of w.voltageHarmonics) {
    for (const ih of w.currentHarmonics) {
      if (ih.order === vh.order) p += w.voltage * vh.ratio * w.current * ih.ratio * Math.cos(vh.phase - ih.phase);
    }
  }
  return p;
}

/**
 * A dip (ratio < 1), swell (> 1) or interruption (0) of the supply: its r.m.s. is `ratio` times
 * normal from `atSeconds` for `durationSeconds`, again every `everySeconds` if given.
 */
export interface VoltageEvent {
  readonly atSeconds: number;
  readonly durationSeconds: number;
  readonly ratio: number;
  readonly everySeconds?: number;
}

/** The voltage side of a waveform: the building's supply, shared by every meter on it. */
export interface Supply {
  readonly frequency: number;
  readonly voltage: number;
  readonly harmonics: readonly Harmonic[];
  readonly events?: readonly VoltageEvent[];
}

/** The supply's r.m.s. relative to normal at `t` seconds (1 outside its events). */
export function supplyEnvelope(supply: Supply, t: number): number {
  for (const e of supply.events ?? []) {
    const since = t - e.atSeconds;
    if (since < 0) continue;
    const into = e.everySeconds ? since % e.everySeconds : since;
    if (into < e.durationSeconds) return e.ratio;
  }
  return 1;
}

/** Does any of the supply's events overlap [t0, t1) seconds? */
export function supplyDisturbed(supply: Supply, t0: number, t1: number): boolean {
  for (const e of supply.events ?? []) {
    if (t1 <= e.atSeconds) continue;
    const every = e.everySeconds;
    const first = every ? Math.max(0, Math.floor((t0 - e.atSeconds) / every)) : 0;
    // the occurrence that may contain t0 and the next one
    for (let k = first; k <= first + 1; k++) {
      const start = e.atSeconds + (every ? k * every : 0);
      if (start < t1 && start + e.durationSeconds > t0) return true;
      if (!every) break;
    }
  }
  return false;
}

/**
 * A typical European low-voltage supply: 230 V, 50 Hz, a little 3rd and 5th harmonic (THD 1.8 %),
 * and the disturbances a meter sees now and then: a dip to 62 % for 7 cycles 75 s in and every
 * 15 minutes after, a swell to 113 % for 4 cycles at 6 minutes and every 30 minutes after.
 */
export const EUROPEAN_SUPPLY: Supply = {
  frequency: 50,
  voltage: 230,
  harmonics: [
    { order: 3, ratio: 0.01, phase: 0.3 },
    { order: 5, ratio: 0.015, phase: 2.1 },
  ],
  events: [
    { atSeconds: 75.013, durationSeconds: 0.14, ratio: 0.62, everySeconds: 15 * 60 },
    { atSeconds: 360.007, durationSeconds: 0.08, ratio: 1.13, everySeconds: 30 * 60 },
  ],
};

/** What a load draws at one instant: its fundamental current set by the power it wants. */
export interface Draw {
  /** Fundamental active power wanted, W; negative for a generator. */
  readonly power: number;
  /** Displacement power factor of the fundamental, 0 < pf ≤ 1. */
  readonly powerFactor: number;
  readonly harmonics: readonly Harmonic[];
}

export const OFF: Draw = { power: 0, powerFactor: 1, harmonics: [] };

export function waveformOf(supply: Supply, draw: Draw): Waveform {
  const apparent = Math.abs(draw.power) / draw.powerFactor;
  const current = apparent / supply.voltage;
  const displacement = Math.acos(Math.min(1, Math.max(0, draw.powerFactor)));
  const events = supply.events ?? [];
  return {
    ...(events.length > 0 ? { envelope: (t: number) => supplyEnvelope(supply, t) } : {}),
    frequency: supply.frequency,
    voltage: supply.voltage,
    voltageHarmonics: supply.harmonics,
    current,
    lag: draw.power < 0 ? Math.PI + displacement : displacement,
    currentHarmonics: current > 0 ? draw.harmonics : [],
  };
}

/** A load's behaviour over time: what it draws `t` seconds into the simulation, with its relay on. */
export type LoadProfile = (t: number) => Draw;

export function constant(draw: Draw): LoadProfile {
  return () => draw;
}

/** A resistive load (kettle, heater, oven element). */
export function resistive(watts: number): LoadProfile {
  return constant({ power: watts, powerFactor: 1, harmonics: [] });
}

/** Electronics and small motors: a rectifier's odd harmonics and a slightly lagging power factor. */
export function electronics(watts: number): LoadProfile {
  return constant({
    power: watts,
    powerFactor: 0.96,
    harmonics: [
      { order: 3, ratio: 0.35, phase: 0.4 },
      { order: 5, ratio: 0.18, phase: 1.9 },
      { order: 7, ratio: 0.08, phase: 3.0 },
      { order: 9, ratio: 0.04, phase: 0.7 },
    ],
  });
}

/** A compressor that runs `onSeconds` then rests `offSeconds` (a fridge, a heat pump in mild weather). */
export function cycling(watts: number, onSeconds: number, offSeconds: number, powerFactor = 0.82): LoadProfile {
  const on: Draw = { power: watts, powerFactor, harmonics: [{ order: 3, ratio: 0.06, phase: 1.1 }] };
  return (t) => (t % (onSeconds + offSeconds) < onSeconds ? on : OFF);
}

/** A programme of steps, e.g. a washing machine: heat, wash, spin; then it repeats. */
export function programme(steps: readonly { seconds: number; draw: Draw }[]): LoadProfile {
  const period = steps.reduce((sum, s) => sum + s.seconds, 0);
  return (t) => {
    let into = t % period;
    for (const step of steps) {
      if (into < step.seconds) return step.draw;
      into -= step.seconds;
    }
    return OFF;
  };
}

/**
 * A PV inverter feeding `peakWatts` at solar noon along a clear-sky bell between 06:00 and 20:00
 * local time; `startHour` is the time of day at t = 0.
 */
export function photovoltaic(peakWatts: number, startHour: number): LoadProfile {
  // The sun moves slowly: one draw per simulated second, so a meter's waveform is computed once a
  // second rather than for every block of samples.
  let memo: { second: number; draw: Draw } | undefined;
  return (t) => {
    const second = Math.floor(t);
    if (memo?.second === second) return memo.draw;
    const hour = (startHour + second / 3600) % 24;
    const daylight = Math.sin((Math.PI * (hour - 6)) / 14);
    const draw: Draw =
      hour < 6 || hour > 20 || daylight <= 0
        ? OFF
        : {
            power: -peakWatts * daylight ** 1.5,
            powerFactor: 0.99,
            harmonics: [
              { order: 3, ratio: 0.02, phase: 0.2 },
              { order: 5, ratio: 0.015, phase: 1.4 },
            ],
          };
    memo = { second, draw };
    return draw;
  };
}
