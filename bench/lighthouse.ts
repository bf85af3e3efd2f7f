/**
 * Lighthouse (the npm package) on the built app, in Debian's Chromium, against the production
 * build served by vite preview: performance, accessibility and best practices, as a phone would
 * load it (Lighthouse's default: Moto G Power, 4× CPU slow-down, slow 4G, simulated) and as a
 * desktop (its desktop preset). Lighthouse 12 has no PWA category any more (removed in 12.0);
 * the installability checks live in e2e/pwa-build.e2e.ts. Each preset runs RUNS times; the run
 * with the median performance score gives every figure, as Lighthouse's docs advise for variance.
 *
 * Alone: `npm run build && npx tsx bench/lighthouse.ts` (prints the figures, writes nothing).
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse, { type Flags } from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import { preview } from 'vite';
import { Figures } from './figures';

const RUNS = Number(process.env.LIGHTHOUSE_RUNS ?? 5);
const CATEGORIES = ['performance', 'accessibility', 'best-practices'] as const;
const CHROME_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface RunResult {
  readonly scores: Record<(typeof CATEGORIES)[number], number>;
  readonly lcpMs: number;
  readonly tbtMs: number;
  readonly cls: number;
  readonly fcpMs: number;
  /** Audits that lost points, for the note. */
  readonly failing: readonly string[];
  readonly version: string;
}

async function once(url: string, port: number, preset: 'mobile' | 'desktop'): Promise<RunResult> {
  const flags: Flags = { port, output: 'json', logLevel: 'error', onlyCategories: [...CATEGORIES] };
  const result = await lighthouse(url, flags, preset === 'desktop' ? desktopConfig : undefined);
  if (!result) throw new Error('Lighthouse returned no result');
  const { lhr } = result;
  if (lhr.runtimeError) throw new Error(`Lighthouse: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  const score = (id: string) => Math.round((lhr.categories[id]?.score ?? Number.NaN) * 100);
  const metric = (id: string) => lhr.audits[id]?.numericValue ?? Number.NaN;
  const failing: string[] = [];
  for (const category of CATEGORIES) {
    for (const ref of lhr.categories[category]?.auditRefs ?? []) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit && audit.score !== null && audit.score < 1) failing.push(`${ref.id} ${audit.displayValue ?? audit.score}`);
    }
  }
  return {
    scores: { performance: score('performance'), accessibility: score('accessibility'), 'best-practices': score('best-practices') },
    lcpMs: metric('largest-contentful-paint'),
    tbtMs: metric('total-blocking-time'),
    cls: metric('cumulative-layout-shift'),
    fcpMs: metric('first-contentful-paint'),
    failing,
    version: lhr.lighthouseVersion,
  };
}

export async function benchLighthouse(figures: Figures): Promise<void> {
  const server = await preview({ preview: { port: 0, strictPort: false }, logLevel: 'silent' });
  const address = server.httpServer.address() as AddressInfo;
  const url = `http://localhost:${address.port}/`;
  const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', chromeFlags: CHROME_FLAGS });
  try {
    for (const preset of ['mobile', 'desktop'] as const) {
      const runs: RunResult[] = [];
      for (let k = 0; k < RUNS; k++) runs.push(await once(url, chrome.port, preset));
      runs.sort((a, b) => a.scores.performance - b.scores.performance);
      const median = runs[Math.floor(runs.length / 2)] as RunResult;
      const spread = `${runs[0]?.scores.performance}–${runs.at(-1)?.scores.performance}`;
      const how = preset === 'mobile' ? 'phone: 4× CPU slow-down, slow 4G (simulated)' : 'desktop preset: no CPU slow-down, fast network';
      const lost = median.failing.length > 0 ? `; points lost: ${median.failing.join(', ')}` : '';
      figures.add('audit', `lighthouse_${preset}_performance`, median.scores.performance, '/100', '>= 95', `Lighthouse ${median.version}, ${how}; median of ${runs.length} runs (range ${spread}); demo bus running${lost}`);
      figures.add('audit', `lighthouse_${preset}_accessibility`, median.scores.accessibility, '/100', '100', 'same run');
      figures.add('audit', `lighthouse_${preset}_best_practices`, median.scores['best-practices'], '/100', '100', 'same run');
      figures.add('audit', `lighthouse_${preset}_lcp_ms`, median.lcpMs, 'ms', '< 2500', 'largest contentful paint, same run');
      figures.add('audit', `lighthouse_${preset}_tbt_ms`, median.tbtMs, 'ms', '< 200', `total blocking time, same run (first contentful paint ${median.fcpMs.toFixed(0)} ms, layout shift ${median.cls.toFixed(3)})`);
    }
  } finally {
    chrome.kill();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = new Figures();
  console.log(`Machine: ${figures.machine()}\n`);
  await benchLighthouse(figures);
}
