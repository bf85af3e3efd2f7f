/**
 * Dashboard figures on the built app in Chromium: how soon the first screen is interactive, and
 * the longest main-thread task while 32 loads update at 1 Hz.
 */
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from '@playwright/test';
import { preview } from 'vite';
import globalSetup from '../e2e/global-setup';
import { installFakeSerial } from '../e2e/fixtures';
import type { Figures } from './figures';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Records when the navigation and the first tile appear, in performance.now() time. */
async function watchFirstScreen(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const marks: Record<string, number> = {};
    (window as unknown as { __marks: Record<string, number> }).__marks = marks;
    const observer = new MutationObserver(() => {
      if (marks.nav === undefined && document.querySelector('nav a')) marks.nav = performance.now();
      if (marks.tile === undefined && document.querySelector('article[data-node]')) {
        marks.tile = performance.now();
        observer.disconnect();
      }
    });
    document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
  });
}

export async function benchDashboard(figures: Figures): Promise<void> {
  await globalSetup(); // the fake serial harness
  const server = await preview({ preview: { port: 0, strictPort: false }, logLevel: 'silent' });
  const address = server.httpServer.address() as AddressInfo;
  const base = `http://localhost:${address.port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ARGS });
  try {
    // First screen, five cold loads (a new context each: nothing cached).
    const navs: number[] = [];
    const tiles: number[] = [];
    for (let k = 0; k < 5; k++) {
      const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await watchFirstScreen(page);
      await page.goto(base);
      await page.locator('article[data-node]').first().waitFor({ timeout: 20_000 });
      const marks = await page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
      navs.push(marks.nav ?? Number.NaN);
      tiles.push(marks.tile ?? Number.NaN);
      await context.close();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    figures.add('app', 'first_screen_interactive_ms', median(navs), 'ms', '< 1000', 'built app from a local server, cold cache: navigation to the dashboard’s navigation rendered and clickable; median of 5');
    figures.add('app', 'first_live_tile_ms', median(tiles), 'ms', '', 'navigation to the first verified reading on a tile (demo bus: the simulated meters boot, are discovered and polled); median of 5');

    // 32 loads at 1 Hz: long tasks on the main thread, simulation of the 32 meters included.
    const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const meters = Array.from({ length: 32 }, (_, k) => ({ nodeId: k + 1, name: `Load ${k + 1}`, draw: { power: 100 + 40 * k, powerFactor: 0.95, harmonics: [] } }));
    await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
    await page.addInitScript(() => {
      const tasks: number[] = [];
      (window as unknown as { __tasks: number[] }).__tasks = tasks;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(base);
    await page.locator('article[data-node]').nth(31).waitFor({ timeout: 60_000 });
    // From now on: steady state, every tile refreshed each second.
    await page.evaluate(() => ((window as unknown as { __tasks: number[] }).__tasks.length = 0));
    await page.waitForTimeout(30_000);
    const tasks = await page.evaluate(() => (window as unknown as { __tasks: number[] }).__tasks);
    figures.add('app', 'longest_task_32_loads_ms', tasks.length === 0 ? 0 : Math.max(...tasks), 'ms', '< 50', `longest main-thread task over 30 s with 32 tiles updating at 1 Hz, the simulation of the 32 meters (wasm cores, bus, adapter) running on the same thread; ${tasks.length} task(s) over 50 ms`);
    await context.close();
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}
