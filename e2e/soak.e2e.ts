/**
 * The soak: 32 meters for a simulated day (`npm test`) or week (`npm run soak`, SOAK_HOURS=168) at
 * accelerated time, with seeded random faults, in a Chromium page (e2e/soak/driver.ts). At the end:
 * every meter's stored energy equals its registers' differences, the bill equals the sum this test
 * computes itself from the stored slots and its own prices, every error the app reported maps to an
 * injected fault, and the page's heap, measured after a forced GC every simulated hour, stays flat.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { flatTariff, type Tariff } from '../src/lib/tariff/tariff';
import { expectedBill, type TestTariff } from './expected-bill';
import type { SoakConfig, SoakOutcome, SoakProgress } from './soak/driver';

const HOURS = Number(process.env.SOAK_HOURS ?? 24);
const SEED = Number(process.env.SOAK_SEED ?? 20261201);
/** A poll every 30 s (the app polls every second): a week's soak is about time, not poll rate. */
const POLL_S = Number(process.env.SOAK_POLL_S ?? 30);
const SLOT_MS = 900_000;
const driverPath = fileURLToPath(new URL('./.build/soak-driver.js', import.meta.url));

const PRICES: TestTariff = { markup: 0.05, fallback: 0.3, gridFee: 0.04, excise: 0.0227, vatPercent: 10 };
const SPOT = { base: 0.08, step: 0.015 };
const spotPerKwh = (start: number): number => SPOT.base + ((start / SLOT_MS) % 8) * SPOT.step;
const tariff: Tariff = {
  ...flatTariff(0, 'EUR', 'Europe/Rome'),
  name: 'Soak: spot plus a spread',
  energy: { kind: 'dynamic', markupPerKwh: PRICES.markup, fallback: { kind: 'fixed', perKwh: PRICES.fallback } },
  gridFees: { kind: 'fixed', perKwh: PRICES.gridFee },
  excisePerKwh: PRICES.excise,
  vatPercent: PRICES.vatPercent,
};

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const MB = 1024 * 1024;

test(`soak: 32 meters, ${HOURS} simulated hours, seeded faults (seed ${SEED})`, async ({ page, baseURL }, testInfo) => {
  test.setTimeout(Math.max(10 * 60_000, HOURS * 60_000));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  // An empty page of the app's origin: the soak brings its own code, the app's library.
  await page.route(`${baseURL}/soak`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>Wattwall soak</title>' }));
  await page.goto('/soak');
  await page.addScriptTag({ path: driverPath });
  const cdp = await page.context().newCDPSession(page);
  const heap = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };

  const config: SoakConfig = { seed: SEED, meters: 32, hours: HOURS, pollS: POLL_S, startMs: Date.UTC(2026, 11, 1), faultsPerDay: 24, tariff, spot: SPOT };
  const wallStart = Date.now();
  await page.evaluate((c) => window.__soak?.start(c), config);
  const samples: [number, number][] = [[0, await heap()]];
  let progress: SoakProgress | undefined;
  for (let hour = 1; hour <= HOURS; hour++) {
    progress = await page.evaluate(() => window.__soak?.run(1));
    samples.push([hour, await heap()]);
    if (hour % 6 === 0) console.log(`soak: ${hour} h simulated in ${((Date.now() - wallStart) / 1000).toFixed(0)} s, ${progress?.energyRecords} energy records, ${progress?.faults} faults, heap ${((samples.at(-1)?.[1] ?? 0) / MB).toFixed(1)} MB`);
  }
  const outcome = (await page.evaluate(() => window.__soak?.finish())) as SoakOutcome;
  const wallS = (Date.now() - wallStart) / 1000;
  writeFileSync(testInfo.outputPath('soak-outcome.json'), JSON.stringify({ faults: outcome.faults, reports: outcome.reports, unexplained: outcome.unexplained, meters: outcome.meters }, null, 1));

  // Energy: per meter, the store against the registers.
  const lines: string[] = [];
  for (const m of outcome.meters) {
    expect(m.pendingGaps, `meter ${m.node}: gaps left unplaced`).toBe(0);
    expect(m.cursorCurrent, `meter ${m.node}: the store's last reading is not the meter's last`).toBe(true);
    const lostImport = m.countedImportMwh - m.storedImportMwh;
    const lostExport = m.countedExportMwh - m.storedExportMwh;
    if (m.reboots === 0) {
      expect([lostImport, lostExport], `meter ${m.node}: registers ${m.countedImportMwh} mWh, stored ${m.storedImportMwh} mWh`).toEqual([0, 0]);
    } else {
      // Across a reboot only the sub-Wh remainder the meter itself lost at the power cut.
      expect(lostImport, `meter ${m.node}`).toBeGreaterThanOrEqual(0);
      expect(lostImport + lostExport, `meter ${m.node}`).toBeLessThan(1000 * m.reboots);
    }
    lines.push(`${m.node}\t${m.countedImportMwh}\t${m.storedImportMwh}\t${m.reboots}`);
  }
  expect(outcome.meters).toHaveLength(32);

  // The bill: the library's against this test's own sum over the stored slots.
  const expected = expectedBill(outcome.slots, spotPerKwh, PRICES);
  expect(outcome.bill.importMwh).toBe(expected.importMwh);
  expect({ energy: outcome.bill.energyCents, grid: outcome.bill.gridCents, excise: outcome.bill.exciseCents, vat: outcome.bill.vatCents, total: outcome.bill.totalCents }).toEqual({ ...expected.lines, vat: expected.vat, total: expected.total });

  // Every error has its fault.
  expect(outcome.unexplained, 'errors no injected fault explains').toEqual([]);
  expect(errors).toEqual([]);
  const kinds = new Set(outcome.faults.map((f) => f.kind));
  expect(kinds.size, 'every kind of fault was injected').toBe(9);

  // Memory: after the first hour (caches, JIT), the heap after GC must not climb.
  const steady = samples.filter(([h]) => h >= 1);
  const bytesPerHour = slope(steady);
  const first = steady[0]?.[1] ?? 0;
  const last = steady.at(-1)?.[1] ?? 0;
  const figures = {
    simulatedHours: HOURS,
    pollSeconds: POLL_S,
    wallSeconds: Math.round(wallS),
    meters: 32,
    energyRecords: outcome.energyRecords,
    snapshots: outcome.snapshots,
    faults: outcome.faults.length,
    reports: Object.values(outcome.reports).reduce((a, b) => a + b, 0),
    storedKwh: Math.round(outcome.meters.reduce((s, m) => s + m.storedImportMwh, 0) / 1e3) / 1e3,
    billCents: outcome.bill.totalCents,
    heapStartMb: Math.round((first / MB) * 10) / 10,
    heapEndMb: Math.round((last / MB) * 10) / 10,
    heapSlopeKbPerHour: Math.round(bytesPerHour / 1024),
  };
  console.log(`soak figures: ${JSON.stringify(figures)}`);
  console.log(`reports: ${JSON.stringify(outcome.reports)}`);
  console.log(`faults: ${outcome.faults.map((f) => `${f.kind}@${(f.at / 3_600_000).toFixed(1)}h`).join(', ')}`);
  writeFileSync(testInfo.outputPath('soak.json'), JSON.stringify({ figures, faults: outcome.faults, reports: outcome.reports, meters: lines }, null, 1));
  // Flat: what an hour adds, extrapolated over the whole run, stays under 4 MB (a leak of a few
  // hundred bytes per record would be tens of MB).
  expect(bytesPerHour * HOURS, `heap slope ${Math.round(bytesPerHour / 1024)} KB per simulated hour`).toBeLessThan(4 * MB);
});
