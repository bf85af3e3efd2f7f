/**
 * The grid connection's limit and how its meter trips. A meter's limiter is modelled as one
 * integrator per band of its trip curve: above a band's threshold the band's stress grows at
 * 1 / tolerance per second, below it the stress relaxes at 1 / recovery per second, and the
 * meter trips when any band's stress reaches 1. For a constant power this gives the familiar
 * step curve (time to trip = tolerance of the highest band the power exceeds); for a power that
 * comes and goes it remembers recent overloads, as a thermal or timer-based limiter does.
 */

export interface TripBand {
  /** The band starts above this site import, W. */
  readonly aboveW: number;
  /** Seconds at a constant power inside (or above) this band before the meter trips. */
  readonly toleranceS: number;
  /** Seconds below the band for a full stress of 1 to relax to 0 (default: toleranceS). */
  readonly recoveryS?: number;
}

export interface GridConnection {
  /** The contracted power (potenza impegnata), W. */
  readonly contractW: number;
  /** The trip curve, any order; the lowest threshold is the power the meter allows forever. */
  readonly bands: readonly TripBand[];
}

/**
 * The Italian low-voltage default (e-distribuzione's meters, the 2003 consumer agreement): up to
 * contract + 10 % forever, up to +33 % for about 3 hours, above that a trip in about 2 minutes.
 * The exact curve differs between meter generations and distributors, so every figure is a parameter.
 */
export function italianConnection(contractW: number, options: { freeFraction?: number; toleratedFraction?: number; toleratedS?: number; tripS?: number } = {}): GridConnection {
  if (!(contractW > 0)) throw new Error(`contracted power must be positive, got ${contractW} W`);
  const free = options.freeFraction ?? 1.1;
  const tolerated = options.toleratedFraction ?? 1.33;
  return {
    contractW,
    bands: [
      { aboveW: contractW * free, toleranceS: options.toleratedS ?? 3 * 3600 },
      { aboveW: contractW * tolerated, toleranceS: options.tripS ?? 120 },
    ],
  };
}

/** Throws with a clear message when a connection cannot be used. */
export function validateConnection(connection: GridConnection): void {
  if (!(connection.contractW > 0)) throw new Error(`contracted power must be positive, got ${connection.contractW} W`);
  if (connection.bands.length === 0) throw new Error('the trip curve needs at least one band');
  for (const band of connection.bands) {
    if (!(band.aboveW > 0)) throw new Error(`trip band threshold must be positive, got ${band.aboveW} W`);
    if (!(band.toleranceS > 0)) throw new Error(`trip band tolerance must be positive, got ${band.toleranceS} s`);
    if (band.recoveryS !== undefined && !(band.recoveryS > 0)) throw new Error(`trip band recovery must be positive, got ${band.recoveryS} s`);
  }
}

/** The power the meter allows for ever, W: the lowest band's threshold. */
export function freePowerW(connection: GridConnection): number {
  return Math.min(...connection.bands.map((b) => b.aboveW));
}

/** Seconds to trip at a constant `powerW`, starting from no stress; Infinity at or below the free power. */
export function tripTimeS(connection: GridConnection, powerW: number): number {
  return timeToTripS(connection, connection.bands.map(() => 0), powerW);
}

/** Seconds to trip if `powerW` is held from the present `stress` (one value per band). */
export function timeToTripS(connection: GridConnection, stress: readonly number[], powerW: number): number {
  let t = Infinity;
  connection.bands.forEach((band, i) => {
    if (powerW > band.aboveW) t = Math.min(t, Math.max(0, 1 - (stress[i] ?? 0)) * band.toleranceS);
  });
  return t;
}

/** Stress after holding `powerW` for `dtS` seconds. */
export function advanceStress(connection: GridConnection, stress: readonly number[], powerW: number, dtS: number): number[] {
  return connection.bands.map((band, i) => {
    const s = stress[i] ?? 0;
    if (powerW > band.aboveW) return s + dtS / band.toleranceS;
    return Math.max(0, s - dtS / (band.recoveryS ?? band.toleranceS));
  });
}

/** True when the meter has tripped (some band's stress reached 1). */
export function isTripped(stress: readonly number[]): boolean {
  return stress.some((s) => s >= 1 - 1e-9); // sums of dt / tolerance land a hair under 1
}

/** A meter's limiter in time: feed it the site's import as it happens. */
export class TripIntegrator {
  #stress: number[];
  #tripped = false;

  constructor(readonly connection: GridConnection) {
    validateConnection(connection);
    this.#stress = connection.bands.map(() => 0);
  }

  get stress(): readonly number[] {
    return this.#stress;
  }

  /** Latched: a real limiter stays open until someone re-arms it. */
  get tripped(): boolean {
    return this.#tripped;
  }

  /** Hold `powerW` for `dtS` seconds. */
  advance(powerW: number, dtS: number): void {
    if (!(dtS > 0)) return;
    this.#stress = advanceStress(this.connection, this.#stress, powerW, dtS);
    if (isTripped(this.#stress)) this.#tripped = true;
  }

  timeToTripS(powerW: number): number {
    return timeToTripS(this.connection, this.#stress, powerW);
  }

  /** The highest stress of any band, 0..1. */
  get worstStress(): number {
    return Math.min(1, Math.max(0, ...this.#stress));
  }
}
