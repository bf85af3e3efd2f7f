import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { buildProblem, components, type DeferrableLoad, plan, type PlanInputs } from './planner';
import { profileDurationMs, profileEnergyWh, profileSlots, remainingProfile } from './profile';
import { planningScenario } from './testing/scenarios';

const T0 = Date.UTC(2026, 5, 10, 0, 0);
const at = (slot: number) => T0 + slot * SLOT_MS;
const flat = (n: number, v: number) => new Array<number>(n).fill(v);

function inputs(price: number[], extra: Partial<PlanInputs> = {}): PlanInputs {
  return { start: T0, price, solarW: flat(price.length, 0), baseW: flat(price.length, 200), importLimitW: 3000, ...extra };
}

const washer: DeferrableLoad = {
  id: 'washer',
  profile: [{ minutes: 10, watts: 2000 }, { minutes: 40, watts: 200 }],
  earliestStart: T0,
  latestEnd: at(16),
  interruptible: false,
  strategy: 'cost',
};

describe('power profiles', () => {
  it('spreads the steps of a programme over 15-minute slots, with averages and peaks', () => {
    const p = profileSlots(washer.profile);
    expect(Array.from(p.avgW).map((w) => Math.round(w * 100) / 100)).toEqual([1400, 200, 200, 66.67]);
    expect(Array.from(p.peakW)).toEqual([2000, 200, 200, 200]);
    expect(profileDurationMs(washer.profile)).toBe(50 * 60_000);
    expect(profileEnergyWh(washer.profile)).toBeCloseTo(2000 / 6 + 200 * 40 / 60);
    expect(remainingProfile(washer.profile, 20 * 60_000)).toEqual([{ minutes: 30, watts: 200 }]);
    const shifted = profileSlots([{ minutes: 15, watts: 1000 }], 5 * 60_000);
    expect(Array.from(shifted.avgW).map(Math.round)).toEqual([667, 333]);
  });
});

describe('planner', () => {
  it('runs an uninterruptible programme in the cheapest window, weighting each step by its power', () => {
    // slot 6 is cheap but the heating step would fall in slot 5 or 7 if it started elsewhere
    const price = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.05, 0.3, 0.3, 0.3, 0.3, 0.3, 0.2, 0.2, 0.2, 0.2];
    const p = plan({ inputs: inputs(price), loads: [washer], now: T0 });
    expect(p.method).toBe('exact');
    expect(p.loads[0]?.slots).toEqual([6, 7, 8, 9]);
    expect(p.loads[0]?.runs).toEqual([{ start: at(6), end: at(10), watts: expect.closeTo(466.67, 1) }]);
    expect(p.outcome.money).toBeLessThan(p.runNow.money);
    expect(p.outcome.money).toBeCloseTo(p.loads[0]?.money ?? NaN, 9);
  });

  it('takes the sun for a solar load even when the night is cheaper, the night for a cost load', () => {
    const n = 16;
    const price = flat(n, 0.3).map((v, t) => (t < 4 ? 0.05 : v));
    const solarW = flat(n, 0).map((_, t) => (t >= 8 && t < 12 ? 2500 : 0));
    const base = inputs(price, { solarW, feedIn: flat(n, 0.02) });
    const boiler = (strategy: DeferrableLoad['strategy']): DeferrableLoad => ({ id: 'boiler', profile: [{ minutes: 60, watts: 2000 }], earliestStart: T0, latestEnd: at(n), interruptible: true, strategy });
    const green = plan({ inputs: base, loads: [boiler('solar')], now: T0 });
    expect(green.loads[0]?.slots).toEqual([8, 9, 10, 11]);
    expect(green.outcome.gridWh).toBeCloseTo(0);
    expect(green.loads[0]?.ownWh).toBeCloseTo(2000);
    // with a feed-in of 0.02 the sun costs 0.02/kWh in lost export, the night 0.05: also the sun
    expect(plan({ inputs: base, loads: [boiler('cost')], now: T0 }).loads[0]?.slots).toEqual([8, 9, 10, 11]);
    // a feed-in dearer than the night price sends a cost load to the night, a solar load stays
    const dear = inputs(price, { solarW, feedIn: flat(n, 0.12) });
    expect(plan({ inputs: dear, loads: [boiler('cost')], now: T0 }).loads[0]?.slots).toEqual([0, 1, 2, 3]);
    expect(plan({ inputs: dear, loads: [boiler('solar')], now: T0 }).loads[0]?.slots).toEqual([8, 9, 10, 11]);
  });

  it('keeps two loads apart under the contracted limit, and spreads them for the lowest peak', () => {
    const n = 8;
    const price = [0.1, 0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3];
    const heater = (id: string, strategy: DeferrableLoad['strategy']): DeferrableLoad => ({ id, profile: [{ minutes: 30, watts: 1800 }], earliestStart: T0, latestEnd: at(n), interruptible: false, strategy });
    const p = plan({ inputs: inputs(price, { importLimitW: 3000 }), loads: [heater('a', 'cost'), heater('b', 'cost')], now: T0 });
    const [a, b] = [p.loads[0]?.slots ?? [], p.loads[1]?.slots ?? []];
    expect(a.filter((t) => b.includes(t))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([0, 1, 2, 3]);
    expect(p.outcome.peakW).toBeLessThanOrEqual(3000);
    // the naive plan stacks both on the cheapest slots, over the limit
    expect(p.naive.feasible).toBe(false);
    // lowest peak: the site's own peak is 200 W, so the two never overlap even where the limit would allow it
    const roomy = plan({ inputs: inputs(price, { importLimitW: 6000 }), loads: [heater('a', 'peak'), heater('b', 'peak')], now: T0 });
    expect(roomy.outcome.peakW).toBeCloseTo(2000);
    const cheap = plan({ inputs: inputs(price, { importLimitW: 6000 }), loads: [heater('a', 'cost'), heater('b', 'cost')], now: T0 });
    expect(cheap.outcome.peakW).toBeCloseTo(3800);
  });

  it('follows a limit that changes with the time of day', () => {
    const n = 8;
    const limit = [6000, 6000, 3000, 3000, 3000, 3000, 3000, 3000];
    const ev: DeferrableLoad = { id: 'ev', profile: [{ minutes: 60, watts: 4000 }], earliestStart: T0, latestEnd: at(n), interruptible: true, strategy: 'cost' };
    const p = plan({ inputs: inputs(flat(n, 0.1).map((v, t) => v + t * 0.01), { importLimitW: limit }), loads: [ev], now: T0 });
    expect(p.loads[0]?.status).toBe('unplaced');
    expect(p.loads[0]?.reason).toMatch(/no slot in its window has room under the import limit/);
    const short = plan({ inputs: inputs(flat(n, 0.1), { importLimitW: limit }), loads: [{ ...ev, profile: [{ minutes: 30, watts: 4000 }] }], now: T0 });
    expect(short.loads[0]?.slots).toEqual([0, 1]);
  });

  it('never moves a programme that has started, and keeps the current slot of a running interruptible one', () => {
    const price = [0.5, 0.5, 0.5, 0.5, 0.01, 0.01, 0.01, 0.01];
    const now = T0 + 5 * 60_000;
    const started = plan({ inputs: inputs(price), loads: [washer], started: [{ loadId: 'washer', startedAt: T0 - 10 * 60_000 }], now });
    expect(started.loads[0]?.status).toBe('running');
    expect(started.loads[0]?.slots).toEqual([0, 1, 2]);
    const ev: DeferrableLoad = { id: 'ev', profile: [{ minutes: 60, watts: 2000 }], earliestStart: T0 - 3600_000, latestEnd: at(8), interruptible: true, strategy: 'cost' };
    const running = plan({ inputs: inputs(price), loads: [ev], started: [{ loadId: 'ev', startedAt: T0 - 15 * 60_000, doneMs: 15 * 60_000, runningNow: true }], now });
    expect(running.loads[0]?.status).toBe('running');
    expect(running.loads[0]?.slots).toEqual([0, 6, 7]);
  });

  it('says why a load cannot be planned', () => {
    const p = plan({ inputs: inputs(flat(4, 0.1)), loads: [{ ...washer, latestEnd: at(2) }], now: T0 });
    expect(p.loads[0]?.status).toBe('unplaced');
    expect(p.loads[0]?.reason).toMatch(/shorter than the programme/);
    expect(p.outcome.unplaced).toBe(1);
  });

  it('rejects inputs it cannot plan with, clearly', () => {
    const ok = inputs(flat(4, 0.1));
    expect(() => plan({ inputs: { ...ok, solarW: [0, 0] }, loads: [], now: T0 })).toThrow(/solarW has 2 slots, prices have 4/);
    expect(() => plan({ inputs: { ...ok, price: [0.1, Number.NaN, 0.1, 0.1] }, loads: [], now: T0 })).toThrow(/not a finite number/);
    expect(() => plan({ inputs: { ...ok, start: T0 + 1 }, loads: [], now: T0 + 1 })).toThrow(/15-minute grid/);
    expect(() => plan({ inputs: ok, loads: [], now: T0 + 3600_000 })).toThrow(/slot of now/);
    expect(() => plan({ inputs: ok, loads: [washer, washer], now: T0 })).toThrow(/two deferrable loads are called washer/);
    expect(() => plan({ inputs: ok, loads: [{ ...washer, profile: [{ minutes: 0, watts: 10 }] }], now: T0 })).toThrow(/positive number of minutes/);
    expect(() => plan({ inputs: ok, loads: [{ ...washer, latestEnd: T0 }], now: T0 })).toThrow(/latest end must be after/);
  });

  it('solves loads that cannot affect each other apart', () => {
    // at night with room under the limit every slot is additive: ten loads, ten groups, no search
    const s = planningScenario(3, 10, 48);
    const night = { ...s.inputs, solarW: flat(192, 0), importLimitW: 20_000 };
    const problem = buildProblem({ inputs: night, loads: s.loads.map((l) => ({ ...l, strategy: 'cost' as const })), now: T0 });
    expect(components(problem).map((g) => g.length)).toEqual(flat(10, 1));
    const p = plan({ inputs: night, loads: s.loads.map((l) => ({ ...l, strategy: 'cost' as const })), now: T0 });
    expect(p.method).toBe('exact');
    expect(p.nodes).toBe(0);
    expect(p.outcome.money).toBeCloseTo(p.naive.money, 9);
  });

  it('starts from a previous plan when re-planning', () => {
    const s = planningScenario(2, 6, 24);
    const first = plan({ ...s, options: { timeBudgetMs: Infinity, maxNodes: 1e7 } });
    expect(first.method).toBe('exact');
    const hint = new Map(first.loads.map((l) => [l.loadId, l.slots.map((t) => s.inputs.start + t * SLOT_MS)]));
    const again = plan({ ...s, options: { hint, timeBudgetMs: 0 } });
    expect(again.outcome.objective).toBeCloseTo(first.outcome.objective, 9);
  });
});
