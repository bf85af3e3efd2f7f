/** Bundled for the browser by bench/planner.ts: plans the benchmark days and times each. */
import { plan } from '../src/lib/energy/planner';
import { planningScenario } from '../src/lib/energy/testing/scenarios';

export interface PlannerTiming {
  readonly ms: number;
  readonly exact: boolean;
  readonly nodes: number;
}

export function runPlannerBench(seeds: readonly number[], loads: number, hours: number): PlannerTiming[] {
  return seeds.map((seed) => {
    const s = planningScenario(seed, loads, hours);
    const t0 = performance.now();
    const p = plan(s);
    return { ms: performance.now() - t0, exact: p.method === 'exact', nodes: p.nodes };
  });
}
