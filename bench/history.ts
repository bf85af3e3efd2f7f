/**
 * History figures: the poll cycle of 32 meters through the app path against the bus-time bound;
 * and, in Chromium on its real IndexedDB, the ingest rate (records verified and stored per
 * second), the time to load a day, a month and a year of one meter for a chart, and the store's
 * size for one meter-year.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { build } from 'vite';
import type { CycleTiming } from '../src/lib/aggregator/aggregator';
import { historyRig } from '../src/lib/aggregator/testing-history';
import { resistive } from '../src/lib/sim/waveforms';
import type { Figures } from './figures';

/** 32 meters polled through aggregator → slcan driver → emulated adapter → bus, cycle by cycle. */
export async function benchAppCycle(figures: Figures): Promise<void> {
  for (const bitrate of [125_000, 500_000]) {
    const h = await historyRig(Array.from({ length: 32 }, (_, k) => ({ nodeId: k + 1, name: `m${k + 1}`, load: resistive(50 * (k + 1)) })), bitrate);
    const session = await h.open();
    const cycles: CycleTiming[] = [];
    session.aggregator.subscribe({ cycle: (c) => cycles.push(c) });
    for (let k = 0; k < 12; k++) {
      session.timers.tick();
      await h.rig.run(1000, 0.25);
    }
    await h.close();
    // Cycles that polled every meter and nothing else (ENERGY and STATUS reads add their frames to the bound too).
    const full = cycles.filter((c) => c.meters === 32);
    if (full.length === 0) throw new Error('no complete cycle of 32 meters');
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const kbit = bitrate / 1000;
    figures.add('history', `app_poll_cycle_32_${kbit}k_ms`, median(full.map((c) => c.durationMs)), 'ms', '≤ 1000', `aggregator → slcan driver → emulated adapter (1 ms USB frames) → bus → 32 meters, verified; median of ${full.length} cycles`);
    figures.add('history', `app_poll_cycle_32_${kbit}k_ratio`, median(full.map((c) => c.ratio)), 'ratio', '→ 1', 'cycle / exact on-wire time of its frames; the excess is USB framing and the meters’ reaction');
  }
}

async function bundle(): Promise<string> {
  const out = fileURLToPath(new URL('./.build/', import.meta.url));
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: out,
      emptyOutDir: true,
      minify: true,
      lib: { entry: fileURLToPath(new URL('./harness/store-bench.ts', import.meta.url)), formats: ['iife'], name: 'StoreBench', fileName: () => 'store-bench.js' },
    },
  });
  return `${out}store-bench.js`;
}

export async function benchStore(figures: Figures): Promise<void> {
  const script = await import('node:fs').then((fs) => bundle().then((path) => fs.readFileSync(path, 'utf8')));
  // IndexedDB needs a real origin: a page served from loopback.
  const server = createServer((req, res) => {
    if (req.url === '/store-bench.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>store bench</title><script src="/store-bench.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => window.__storeBench !== undefined);

    const ingest = await page.evaluate(() => window.__storeBench?.ingest(32, 120));
    if (!ingest) throw new Error('ingest failed');
    figures.add('history', 'ingest_records_per_s', ingest.perSecond, 'records/s', '≫ 32 (32 meters at 1 Hz)', `${ingest.records} SNAPSHOT records of 32 meters: reassembled, MAC and freshness checked, decoded, stored in Chromium IndexedDB with rollups, flushed every 5 s`);

    const before = await page.evaluate(() => window.__storeBench?.usage());
    const year = await page.evaluate(() => window.__storeBench?.fillYear('bench-year'));
    const after = await page.evaluate(() => window.__storeBench?.usage());
    if (!year || before === undefined || after === undefined) throw new Error('fill failed');
    figures.add('history', 'store_bytes_per_meter_year_mb', (after - before) / 2 ** 20, 'MiB', '', `one meter, steady state under the default retention (full rate 3 days, 1-min 31 days, 15-min, daily and the ledger for the year): ${year.rows} rows; navigator.storage.estimate() in Chromium`);
    for (const [label, days, resolution] of [['day', 1, undefined], ['day_full_rate', 1, 'raw'], ['month', 31, undefined], ['year', 365, undefined]] as const) {
      const r = await page.evaluate(({ uid, end, days, resolution }) => window.__storeBench?.load('bench-year', uid, end, days, resolution), { uid: year.uid, end: year.end, days, resolution });
      if (!r) throw new Error('load failed');
      figures.add('history', `chart_load_${label}_ms`, r.ms, 'ms', '< 100', `one meter's power for a chart: ${r.points} points at ${r.resolution}; median of 5 reads`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}
