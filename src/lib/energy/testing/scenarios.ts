/**
 * Realistic planning days for tests and the benchmark: day-ahead-like prices (cheap at night and
 * at noon, dear in the evening), a clear-or-cloudy solar day, a household base load, and the
 * usual deferrable appliances.
 */
import { seededRandom } from '../../sim/random';
import { SLOT_MS } from '../../tariff/slot';
import type { DeferrableLoad, PlanInputs, Strategy } from '../planner';
import type { PowerStep } from '../profile';

export const APPLIANCES: Record<string, { profile: PowerStep[]; interruptible: boolean }> = {
  washer: { profile: [{ minutes: 20, watts: 2000 }, { minutes: 60, watts: 250 }, { minutes: 15, watts: 600 }], interruptible: false },
  dishwasher: { profile: [{ minutes: 30, watts: 1900 }, { minutes: 60, watts: 120 }, { minutes: 30, watts: 1800 }], interruptible: false },
  dryer: { profile: [{ minutes: 90, watts: 1200 }], interruptible: false },
  oven: { profile: [{ minutes: 15, watts: 2400 }, { minutes: 45, watts: 1000 }], interruptible: false },
  bread: { profile: [{ minutes: 40, watts: 100 }, { minutes: 60, watts: 600 }], interruptible: false },
  ev: { profile: [{ minutes: 240, watts: 2300 }], interruptible: true },
  boiler: { profile: [{ minutes: 120, watts: 1200 }], interruptible: true },
  pool: { profile: [{ minutes: 180, watts: 750 }], interruptible: true },
  heatpump: { profile: [{ minutes: 60, watts: 900 }, { minutes: 60, watts: 600 }], interruptible: true },
  robot: { profile: [{ minutes: 90, watts: 60 }], interruptible: true },
};

export interface Scenario {
  readonly inputs: PlanInputs;
  readonly loads: DeferrableLoad[];
  readonly now: number;
}

/** `loads` appliances over `hours` hours from `start` (UTC midnight works well), seeded. */
export function planningScenario(seed: number, loads: number, hours: number, start = Date.UTC(2026, 5, 10, 0, 0), contractW = 4500): Scenario {
  const rand = seededRandom(seed);
  const n = hours * 4;
  const level = 0.1 + rand() * 0.15;
  const swing = 0.05 + rand() * 0.1;
  const kwp = 2 + rand() * 4;
  const cloud = Array.from({ length: Math.ceil(hours) }, () => 0.3 + rand() * 0.7);
  const price: number[] = [];
  const solarW: number[] = [];
  const baseW: number[] = [];
  for (let t = 0; t < n; t++) {
    const hour = (t / 4) % 24;
    const evening = Math.exp(-((hour - 19.5) ** 2) / 6);
    const noon = Math.exp(-((hour - 13) ** 2) / 8);
    price.push(Math.max(0.01, level + swing * (1.2 * evening - 0.8 * noon) + (rand() - 0.5) * 0.03));
    const sun = Math.max(0, Math.sin(((hour - 6) / 14) * Math.PI));
    solarW.push(1000 * kwp * sun * (cloud[Math.floor(t / 4)] ?? 1));
    baseW.push(200 + (hour >= 7 && hour < 9 ? 500 : 0) + (hour >= 18 && hour < 22 ? 800 : 0) + rand() * 150);
  }
  const kinds = Object.keys(APPLIANCES);
  const strategies: Strategy[] = ['cost', 'cost', 'solar', 'peak'];
  const list: DeferrableLoad[] = [];
  for (let i = 0; i < loads; i++) {
    const kind = kinds[i % kinds.length] ?? 'washer';
    const a = APPLIANCES[kind] ?? { profile: [{ minutes: 60, watts: 1000 }], interruptible: false };
    const from = Math.floor(rand() * n * 0.3);
    const len = Math.max(16, Math.floor(n * (0.4 + rand() * 0.6)));
    list.push({
      id: `${kind}-${i}`,
      name: kind,
      profile: a.profile,
      interruptible: a.interruptible,
      strategy: strategies[Math.floor(rand() * strategies.length)] ?? 'cost',
      earliestStart: start + from * SLOT_MS,
      latestEnd: start + Math.min(n, from + len) * SLOT_MS,
    });
  }
  return { inputs: { start, price, feedIn: price.map(() => 0.05), solarW, baseW, importLimitW: contractW }, loads: list, now: start };
}
