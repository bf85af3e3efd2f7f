import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { buildProblem, type DeferrableLoad, evaluate, plan, type PlanInputs, type PlanRequest, solve } from './planner';
import { bruteForce, combinations } from './testing/brute-force';

const T0 = Date.UTC(2026, 5, 10, 0, 0);
const exactOptions = { maxNodes: 1e9, timeBudgetMs: Infinity };

const loadArb = (i: number, n: number, maxChunks: number) =>
  fc
    .record({
      steps: fc.array(fc.record({ minutes: fc.constantFrom(5, 10, 15, 20, 30), watts: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 3 }),
      interruptible: fc.boolean(),
      strategy: fc.constantFrom('cost' as const, 'solar' as const, 'peak' as const),
      from: fc.integer({ min: 0, max: Math.floor(n / 3) }),
      len: fc.integer({ min: Math.ceil(n / 2), max: n }),
    })
    .filter((r) => r.steps.reduce((s, x) => s + x.minutes, 0) <= maxChunks * 15)
    .map(
      (r): DeferrableLoad => ({
        id: `load${i}`,
        profile: r.steps,
        interruptible: r.interruptible,
        strategy: r.strategy,
        earliestStart: T0 + r.from * SLOT_MS,
        latestEnd: T0 + Math.min(n, r.from + r.len) * SLOT_MS,
      }),
    );

const smallArb = fc
  .record({ n: fc.integer({ min: 4, max: 10 }), count: fc.integer({ min: 1, max: 4 }) })
  .chain(({ n, count }) =>
    fc.record({
      n: fc.constant(n),
      price: fc.array(fc.double({ min: -0.05, max: 0.5, noNaN: true }), { minLength: n, maxLength: n }),
      feedIn: fc.array(fc.double({ min: 0, max: 0.15, noNaN: true }), { minLength: n, maxLength: n }),
      solarW: fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: n, maxLength: n }),
      baseW: fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: n, maxLength: n }),
      limitW: fc.integer({ min: 2000, max: 7000 }),
      loads: fc.tuple(...Array.from({ length: count }, (_, i) => loadArb(i, n, 3))),
    }),
  );

type Small = typeof smallArb extends fc.Arbitrary<infer T> ? T : never;

function requestOf(s: Small): PlanRequest {
  const inputs: PlanInputs = { start: T0, price: s.price, feedIn: s.feedIn, solarW: s.solarW, baseW: s.baseW, importLimitW: s.limitW };
  return { inputs, loads: s.loads, now: T0, options: exactOptions };
}

/** A day like a real one: prices high in the evening, sun at noon, base load morning and evening. */
const dayArb = fc
  .record({
    count: fc.integer({ min: 2, max: 6 }),
    priceLevel: fc.double({ min: 0.08, max: 0.3, noNaN: true }),
    priceSwing: fc.double({ min: 0, max: 0.2, noNaN: true }),
    noise: fc.array(fc.double({ min: -0.03, max: 0.03, noNaN: true }), { minLength: 96, maxLength: 96 }),
    kwp: fc.double({ min: 0, max: 6, noNaN: true }),
    cloud: fc.array(fc.double({ min: 0.2, max: 1, noNaN: true }), { minLength: 24, maxLength: 24 }),
    feedIn: fc.double({ min: 0, max: 0.12, noNaN: true }),
    contractW: fc.constantFrom(3000, 4500, 6000),
    seedLoads: fc.array(
      fc.record({
        kind: fc.constantFrom('washer', 'dishwasher', 'dryer', 'ev', 'boiler'),
        from: fc.integer({ min: 0, max: 60 }),
        len: fc.integer({ min: 12, max: 96 }),
        strategy: fc.constantFrom('cost' as const, 'solar' as const, 'peak' as const),
      }),
      { minLength: 6, maxLength: 6 },
    ),
  })
  .map((d) => {
    const price = d.noise.map((e, t) => Math.max(0.01, d.priceLevel + d.priceSwing * Math.sin(((t - 40) / 96) * 2 * Math.PI) + e));
    const solarW = price.map((_, t) => {
      const hour = t / 4;
      const sun = Math.max(0, Math.sin(((hour - 6) / 14) * Math.PI));
      return 1000 * d.kwp * sun * (d.cloud[Math.floor(hour)] ?? 1);
    });
    const baseW = price.map((_, t) => {
      const hour = t / 4;
      return 250 + (hour >= 7 && hour < 9 ? 600 : 0) + (hour >= 18 && hour < 22 ? 900 : 0);
    });
    const profiles = {
      washer: { p: [{ minutes: 20, watts: 2000 }, { minutes: 60, watts: 250 }, { minutes: 15, watts: 600 }], i: false },
      dishwasher: { p: [{ minutes: 30, watts: 1900 }, { minutes: 60, watts: 120 }, { minutes: 30, watts: 1800 }], i: false },
      dryer: { p: [{ minutes: 90, watts: 1200 }], i: false },
      ev: { p: [{ minutes: 180, watts: 2300 }], i: true },
      boiler: { p: [{ minutes: 120, watts: 1200 }], i: true },
    };
    const loads: DeferrableLoad[] = d.seedLoads.slice(0, d.count).map((s, i) => {
      const { p, i: interruptible } = profiles[s.kind];
      return { id: `${s.kind}${i}`, profile: p, interruptible, strategy: s.strategy, earliestStart: T0 + s.from * SLOT_MS, latestEnd: T0 + Math.min(96, s.from + s.len) * SLOT_MS };
    });
    const inputs: PlanInputs = { start: T0, price, feedIn: price.map(() => d.feedIn), solarW, baseW, importLimitW: d.contractW };
    return { inputs, loads, allCost: loads.map((l) => ({ ...l, strategy: 'cost' as const })) };
  });

const stats = { checked: 0, combos: 0 };
// Hundreds of random problems each: minutes of CPU on a busy machine, so no 5-second limit.
describe('planner, properties', { timeout: 120_000 }, () => {
  it('finds the brute-force optimum on small problems, and says it is exact', () => {
    fc.assert(
      fc.property(smallArb, (s) => {
        const request = requestOf(s);
        const problem = buildProblem(request);
        fc.pre(combinations(problem) <= 50_000);
        stats.checked++;
        stats.combos += combinations(problem);
        const brute = bruteForce(problem);
        const solved = solve(problem, exactOptions);
        expect(solved.method).toBe('exact');
        expect(solved.objective).toBeCloseTo(brute.objective, 6);
        expect(evaluate(problem.model, problem.jobs, solved.placement).feasible).toBe(true);
      }),
      { numRuns: 300 },
    );
    // the cases are not trivial: hundreds of plans each on average
    expect(stats.combos / stats.checked).toBeGreaterThan(100);
  });

  it('finds the optimum when a negative price lets a later load lower the bound (regression: seed 34208286)', () => {
    // The bound summed the loads' best increments and stopped once the sum reached the best plan
    // so far, as if the rest could not lower it; load0's increment at the negative price can.
    const s: Small = {
      n: 10,
      price: [0, 0, 0, 0, -0.000019029273096483575, 0, 0, 0, 0, 0],
      feedIn: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      solarW: [0, 0, 1347, 723, 1890, 0, 0, 601, 1230, 0],
      baseW: [0, 0, 0, 0, 141, 0, 0, 0, 0, 0],
      limitW: 2008,
      loads: [
        { id: 'load0', profile: [{ minutes: 30, watts: 2609 }, { minutes: 15, watts: 1949 }], interruptible: true, strategy: 'cost', earliestStart: 1781051400000, latestEnd: 1781057700000 },
        { id: 'load1', profile: [{ minutes: 10, watts: 1149 }, { minutes: 5, watts: 0 }], interruptible: false, strategy: 'cost', earliestStart: 1781049600000, latestEnd: 1781055000000 },
      ],
    };
    const problem = buildProblem(requestOf(s));
    const brute = bruteForce(problem);
    const solved = solve(problem, exactOptions);
    expect(solved.method).toBe('exact');
    // both loads share the negative-price slot 4: load0's last chunk and load1
    expect(solved.placement.map((p) => (p ? Array.from(p) : undefined))).toEqual([[2, 3, 4], [4]]);
    expect(solved.objective).toBeCloseTo(brute.objective, 12);
    expect(solved.lowerBound).toBeCloseTo(brute.objective, 12);
  });

  it('finds the brute-force optimum when prices go negative, tiny or large', () => {
    // Negative prices make a load's increment negative: the bound must still hold.
    const negativeArb = smallArb.chain((s) =>
      fc.record({ scale: fc.constantFrom(1e-5, 1e-2, 1), sign: fc.array(fc.constantFrom(-1, 0, 1), { minLength: s.n, maxLength: s.n }) }).map(({ scale, sign }): Small => ({ ...s, price: s.price.map((p, t) => (sign[t] ?? 0) * Math.abs(p) * scale) })),
    );
    fc.assert(
      fc.property(negativeArb, (s) => {
        const problem = buildProblem(requestOf(s));
        fc.pre(combinations(problem) <= 50_000);
        const brute = bruteForce(problem);
        const solved = solve(problem, exactOptions);
        expect(solved.method).toBe('exact');
        // The search prunes with a margin of 1e-9 (currency); an unplaced load's penalty (1e9)
        // leaves the money a few ulps of 1e9.
        expect(Math.abs(solved.objective - brute.objective)).toBeLessThanOrEqual(1e-8 + Math.abs(brute.objective) * 1e-12);
      }),
      { numRuns: 150 },
    );
  });

  it('is never worse than the naive cheapest-slots plan or than running now, on random days', () => {
    fc.assert(
      fc.property(dayArb, ({ inputs, loads, allCost }) => {
        for (const set of [loads, allCost]) {
          const p = plan({ inputs, loads: set, now: T0, options: { maxNodes: 3_000, timeBudgetMs: Infinity } });
          expect(p.outcome.feasible).toBe(true);
          if (p.naive.feasible) expect(p.outcome.objective).toBeLessThanOrEqual(p.naive.objective + 1e-6);
          if (p.runNow.feasible) expect(p.outcome.objective).toBeLessThanOrEqual(p.runNow.objective + 1e-6);
          if (set === allCost && p.naive.feasible && p.outcome.unplaced === 0 && p.naive.unplaced === 0) expect(p.outcome.money).toBeLessThanOrEqual(p.naive.money + 1e-6);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps every programme inside its window, in order, uninterrupted when it must be, under the limit', () => {
    fc.assert(
      fc.property(dayArb, ({ inputs, loads }) => {
        const p = plan({ inputs, loads, now: T0, options: { maxNodes: 1_000, timeBudgetMs: Infinity } });
        const site = inputs.baseW.map((b, t) => b - (inputs.solarW[t] ?? 0));
        for (const lp of p.loads) {
          const load = loads.find((l) => l.id === lp.loadId);
          if (!load || lp.status === 'unplaced') continue;
          const slots = lp.slots;
          for (let i = 1; i < slots.length; i++) expect(slots[i] ?? 0).toBeGreaterThan(slots[i - 1] ?? 0);
          if (!load.interruptible) expect((slots.at(-1) ?? 0) - (slots[0] ?? 0)).toBe(slots.length - 1);
          expect(T0 + (slots[0] ?? 0) * SLOT_MS).toBeGreaterThanOrEqual(load.earliestStart);
          expect(T0 + ((slots.at(-1) ?? 0) + 1) * SLOT_MS).toBeLessThanOrEqual(load.latestEnd);
        }
        const problem = buildProblem({ inputs, loads, now: T0 });
        const peaks = [...site];
        for (const lp of p.loads) {
          const job = problem.jobs.find((j) => j.load.id === lp.loadId);
          if (!job) continue;
          lp.slots.forEach((t, j) => (peaks[t] = (peaks[t] ?? 0) + (job.peak[j] ?? 0)));
        }
        peaks.forEach((q, t) => {
          if (q > site[t]! + 1e-9) expect(q).toBeLessThanOrEqual(Number(inputs.importLimitW) + 1e-6);
        });
      }),
      { numRuns: 100 },
    );
  });
});
