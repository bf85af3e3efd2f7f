/**
 * The last good forecast of each source, in its own IndexedDB database, so that a wall tablet
 * that loses its network still plans with the forecast it had.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { PowerSlot } from '../inputs';

export interface CachedForecast {
  /** Source and site, e.g. "open-meteo:45.0700,7.6900:…". */
  readonly key: string;
  readonly fetchedAt: number;
  readonly slots: readonly PowerSlot[];
}

interface ForecastDb extends DBSchema {
  forecasts: { key: string; value: CachedForecast };
}

export const FORECAST_DB = 'wattwall-forecast';

export class ForecastCache {
  private constructor(readonly db: IDBPDatabase<ForecastDb>) {}

  static async open(name = FORECAST_DB): Promise<ForecastCache> {
    const db = await openDB<ForecastDb>(name, 1, {
      upgrade(d) {
        d.createObjectStore('forecasts', { keyPath: 'key' });
      },
    });
    return new ForecastCache(db);
  }

  get(key: string): Promise<CachedForecast | undefined> {
    return this.db.get('forecasts', key);
  }

  async put(entry: CachedForecast): Promise<void> {
    await this.db.put('forecasts', entry);
  }

  /** Drops forecasts fetched before `before` (ms). */
  async prune(before: number): Promise<number> {
    let dropped = 0;
    const tx = this.db.transaction('forecasts', 'readwrite');
    for await (const cursor of tx.store) {
      if (cursor.value.fetchedAt < before) {
        await cursor.delete();
        dropped++;
      }
    }
    await tx.done;
    return dropped;
  }

  close(): void {
    this.db.close();
  }
}
