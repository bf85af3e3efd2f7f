/**
 * The solar forecast the planner uses: fetched from the chosen source no more often than the
 * source allows, cached for offline use, and when the network or the service fails, the last
 * good forecast with a note saying how old it is.
 */
import { errorMessage } from '../../errors';
import type { PowerSlot } from '../inputs';
import type { ForecastCache } from './cache';
import { type FetchLike, ForecastError } from './fetch';
import { fetchForecastSolar } from './forecast-solar';
import { fetchOpenMeteo } from './open-meteo';
import { type SolarSite, validateSite } from './pv-model';

export type SolarSource = { readonly kind: 'open-meteo' } | { readonly kind: 'forecast-solar'; readonly apiKey?: string };

export interface SolarForecastOptions {
  readonly site: SolarSite;
  readonly source: SolarSource;
  readonly fetch: FetchLike;
  readonly cache?: ForecastCache;
  /** Fetch at most this often, ms (default: 15 min Open-Meteo; 1 h per plane Forecast.Solar, 12 calls an hour per IP). */
  readonly minIntervalMs?: number;
  /** Use a cached forecast up to this old, ms (default 24 h). */
  readonly maxAgeMs?: number;
}

export interface SolarForecast {
  readonly slots: readonly PowerSlot[];
  readonly fetchedAt: number;
  /** False when the source failed and this is the last good forecast. */
  readonly fresh: boolean;
  /** Why it is not fresh. */
  readonly error?: string;
}

export class SolarForecastService {
  readonly #o: SolarForecastOptions;
  readonly #key: string;
  #last: { slots: readonly PowerSlot[]; fetchedAt: number } | undefined;
  #lastTry = -Infinity;
  #retryAt = -Infinity;

  constructor(options: SolarForecastOptions) {
    validateSite(options.site);
    this.#o = options;
    const s = options.site;
    this.#key = `${options.source.kind}:${s.latitude.toFixed(4)},${s.longitude.toFixed(4)}:${s.arrays.map((a) => `${a.kwp}/${a.tiltDeg}/${a.azimuthDeg}`).join(';')}:${s.inverterW ?? ''}`;
  }

  get key(): string {
    return this.#key;
  }

  #minInterval(): number {
    if (this.#o.minIntervalMs !== undefined) return this.#o.minIntervalMs;
    return this.#o.source.kind === 'open-meteo' ? 15 * 60_000 : Math.max(1, this.#o.site.arrays.length) * 3_600_000 / 6;
  }

  /** The forecast now: fetched when due, else remembered, else from the cache. */
  async get(now: number): Promise<SolarForecast> {
    const due = now - this.#lastTry >= this.#minInterval() && now >= this.#retryAt;
    if (!due && this.#last) return { ...this.#last, fresh: true };
    let failure: string;
    if (due) {
      this.#lastTry = now;
      try {
        const slots = this.#o.source.kind === 'open-meteo' ? await fetchOpenMeteo(this.#o.fetch, this.#o.site) : await fetchForecastSolar(this.#o.fetch, this.#o.site, this.#o.source.apiKey);
        if (slots.length === 0) throw new ForecastError('malformed', 'the forecast has no slots');
        this.#last = { slots, fetchedAt: now };
        let note: string | undefined;
        try {
          await this.#o.cache?.put({ key: this.#key, fetchedAt: now, slots });
        } catch (e) {
          note = `forecast not saved for offline use: ${errorMessage(e)}`;
        }
        return note ? { slots, fetchedAt: now, fresh: true, error: note } : { slots, fetchedAt: now, fresh: true };
      } catch (e) {
        if (e instanceof ForecastError && e.retryAt !== undefined) this.#retryAt = e.retryAt;
        failure = errorMessage(e);
      }
    } else {
      failure = `waiting until ${new Date(this.#retryAt).toISOString()} (rate limit)`;
    }
    const maxAge = this.#o.maxAgeMs ?? 24 * 3_600_000;
    let fallback = this.#last;
    if (!fallback && this.#o.cache) {
      try {
        fallback = await this.#o.cache.get(this.#key);
      } catch (e) {
        failure += `; the offline copy could not be read: ${errorMessage(e)}`;
      }
    }
    if (fallback && now - fallback.fetchedAt <= maxAge) {
      this.#last = fallback;
      return { slots: fallback.slots, fetchedAt: fallback.fetchedAt, fresh: false, error: `${failure}; using the forecast of ${new Date(fallback.fetchedAt).toISOString()}` };
    }
    throw new ForecastError('network', `no solar forecast: ${failure}${fallback ? ' (the offline copy is too old)' : ''}`);
  }
}
