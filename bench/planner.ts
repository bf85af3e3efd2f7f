/**
 * Planner figures: run time for 10 deferrable loads over 48 hours (goal under 100 ms in the
 * browser), in Node and in Chromium on a bundle of the same code; how often the exact search
 * finishes inside its budget; what the plans save against running now and the naive plan.
 */
import { chromium } from '@playwright/test';
import { build } from 'vite';
import { plan } from '../src/lib/energy/planner';
import { planningScenario } from '../src/lib/energy/testing/scenarios';
import type { Figures } from './figures';
import { type PlannerTiming, runPlannerBench } from './planner-harness';

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
function quantile(v: number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function inChromium(): Promise<PlannerTiming[]> {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: true, lib: { entry: new URL('./planner-harness.ts', import.meta.url).pathname, formats: ['iife'], name: 'PlannerBench' } },
  });
  const outputs = Array.isArray(out) ? out : [out];
  let code = '';
  for (const o of outputs) if ('output' in o) for (const chunk of o.output) if (chunk.type === 'chunk') code += chunk.code;
  if (code === '') throw new Error('the planner bundle is empty');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><title>planner bench</title>');
    await page.addScriptTag({ content: code });
    // a warm-up pass lets the JIT settle, as it has in a page that has been open a while
    await page.evaluate(() => (globalThis as unknown as { PlannerBench: { runPlannerBench: typeof runPlannerBench } }).PlannerBench.runPlannerBench([100, 101, 102], 10, 48));
    return await page.evaluate((seeds) => (globalThis as unknown as { PlannerBench: { runPlannerBench: typeof runPlannerBench } }).PlannerBench.runPlannerBench(seeds, 10, 48), SEEDS);
  } finally {
    await browser.close();
  }
}

export async function benchPlanner(figures: Figures): Promise<void> {
  runPlannerBench([100, 101, 102], 10, 48); // warm-up
  const node = runPlannerBench(SEEDS, 10, 48);
  const ms = node.map((t) => t.ms);
  figures.add('energy', 'planner_10x48h_node_median_ms', median(ms), 'ms', '< 100', `${SEEDS.length} random days: 10 loads (washer, dishwasher, dryer, oven, bread maker, EV, boiler, pool, heat pump, robot), mixed strategies, 192 slots`);
  figures.add('energy', 'planner_10x48h_node_p90_ms', quantile(ms, 0.9), 'ms', '< 100');
  figures.add('energy', 'planner_10x48h_exact_share_pct', (100 * node.filter((t) => t.exact).length) / node.length, '%', '', 'plans proven optimal within the 60 ms solve budget; the rest are the best heuristic plan (never worse than naive or run-now)');
  try {
    const browser = await inChromium();
    const bms = browser.map((t) => t.ms);
    figures.add('energy', 'planner_10x48h_chromium_median_ms', median(bms), 'ms', '< 100', 'the same code bundled by Vite, in headless Chromium');
    figures.add('energy', 'planner_10x48h_chromium_p90_ms', quantile(bms, 0.9), 'ms', '< 100');
  } catch (e) {
    console.log(`Chromium planner bench skipped: ${e instanceof Error ? e.message : String(e)}`);
  }

  // What the plans are worth: four loads a day on the lowest-cost strategy, money only.
  let saved = 0;
  let savedNow = 0;
  let naiveCount = 0;
  let nowCount = 0;
  for (const seed of SEEDS) {
    const s = planningScenario(seed, 4, 24);
    const p = plan({ ...s, loads: s.loads.map((l) => ({ ...l, strategy: 'cost' as const })) });
    if (p.outcome.unplaced > 0) continue;
    if (p.naive.feasible) {
      saved += p.naive.money - p.outcome.money;
      naiveCount++;
    }
    if (p.runNow.feasible) {
      savedNow += p.runNow.money - p.outcome.money;
      nowCount++;
    }
  }
  figures.add('energy', 'planner_saving_vs_naive_eur_per_day', saved / naiveCount, '€/day', '≥ 0', `4 loads, 24 h, mean over the ${naiveCount} of ${SEEDS.length} days where the naive plan fits the 4.5 kW limit (it ignores solar and the base load)`);
  figures.add('energy', 'planner_saving_vs_run_now_eur_per_day', savedNow / nowCount, '€/day', '≥ 0', `against starting every load at its earliest time (${nowCount} days where that fits)`);
}
