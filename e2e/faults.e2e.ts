/**
 * Faults, end to end: the built app in Chromium, its real drivers, an emulated adapter on the
 * simulated bus of wasm meters. Each case checks what the screen says during the fault and that
 * nothing was lost after it: the energy in IndexedDB equals the difference of the meters'
 * registers, as a sniffer on the bus read them from the wire (docs/faults.md lists every case).
 */
import { expect, type Page, test } from '@playwright/test';
import type { WireEnergy } from './harness/fake-adapters';
import type { Draw } from '../src/lib/sim/waveforms';
import { installClockOffset, installFakeSerial, installStorageLimit, setClockOffset, setStorageFull, storedEnergy } from './fixtures';

const heater: Draw = { power: 3000, powerFactor: 1, harmonics: [] };
const pv: Draw = { power: -1200, powerFactor: 0.98, harmonics: [] };
const meters = [
  { nodeId: 3, name: 'Heater', draw: heater },
  { nodeId: 21, name: 'PV', draw: pv },
];
const NODES = meters.map((m) => m.nodeId);
const ADAPTER = 'CANable 2.0 Nakakiyo slcan';

const status = (page: Page) => page.getByTestId('link-status');
const tile = (page: Page, node: number) => page.locator(`article[data-node="${node}"]`);
const alarm = (page: Page, kind: string) => page.locator(`li[data-kind="${kind}"]`);
const updatedAt = async (page: Page, node: number) => Number(await tile(page, node).getAttribute('data-updated'));
const wire = (page: Page, node: number) => page.evaluate((n) => window.__fakeAdapter?.wireEnergy(n) ?? [], node);

async function open(page: Page): Promise<void> {
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  await expect(status(page)).toHaveText(`Connected: ${ADAPTER}`);
  await baselines(page);
}

/** Every meter has an energy baseline in the store: from here on, every Wh must be accounted for. */
async function baselines(page: Page): Promise<void> {
  await expect
    .poll(async () => {
      const stored = await storedEnergy(page);
      return NODES.every((n) => stored.byNode.get(n)?.cursor !== undefined);
    }, { timeout: 30_000 })
    .toBe(true);
}

/** Both tiles show fresh readings again: updated after `since`, and no "No answer". */
async function live(page: Page, since = 0): Promise<void> {
  for (const node of NODES) {
    await expect(tile(page, node).getByText('No answer')).toHaveCount(0, { timeout: 10_000 });
    await expect.poll(() => updatedAt(page, node), { timeout: 10_000 }).toBeGreaterThan(since);
  }
}

const floorWh = (mwh: number) => Math.floor(mwh / 1000) * 1000;

/**
 * What the meters counted between the first and the `upto`-th reading on the wire. After a reboot
 * a meter resumes from the whole Wh it had persisted: what it counted after the boot is counted
 * from there (the remainder it lost at the power cut, under 1 Wh, it lost itself).
 */
function counted(readings: readonly WireEnergy[], upto: number): { importMwh: number; exportMwh: number; reboots: number } {
  let importMwh = 0;
  let exportMwh = 0;
  let reboots = 0;
  for (let k = 1; k <= upto; k++) {
    const a = readings[k - 1] as WireEnergy;
    const b = readings[k] as WireEnergy;
    const rebooted = b.boots > a.boots;
    if (rebooted) reboots++;
    const step = (x: number, y: number) => (y >= x || !rebooted ? y - x : y - floorWh(x));
    importMwh += step(a.importMwh, b.importMwh);
    exportMwh += step(a.exportMwh, b.exportMwh);
  }
  return { importMwh, exportMwh, reboots };
}

/**
 * Pulls the adapter so that the registers stop moving for the app, waits for the last flush, and
 * checks every meter: the store holds exactly what its registers counted from the app's first
 * reading to its last (to the mWh), the last reading the store counted being one of the last on
 * the wire. `readings` gives the wire of earlier pages (the tab was killed) to prepend.
 */
async function expectNothingLost(page: Page, earlier: ReadonlyMap<number, readonly WireEnergy[]> = new Map()): Promise<void> {
  // A few register readings since the last fault first, so the store's last one follows it.
  const counts = await Promise.all(NODES.map(async (n) => (await wire(page, n)).length));
  for (const [k, node] of NODES.entries()) await expect.poll(async () => (await wire(page, node)).length, { timeout: 30_000 }).toBeGreaterThan((counts[k] ?? 0) + 1);
  await page.evaluate(() => window.__fakeAdapter?.unplug());
  await expect(status(page)).toHaveText(`${ADAPTER} is unplugged: it reconnects when plugged back in`);
  for (const node of NODES) {
    const readings = [...(earlier.get(node) ?? []), ...(await wire(page, node))];
    await expect
      .poll(
        async () => {
          const stored = (await storedEnergy(page)).byNode.get(node);
          const c = stored?.cursor;
          if (!stored || !c) return `meter ${node}: nothing stored`;
          if (stored.gaps > 0) return `meter ${node}: ${stored.gaps} gap(s) not placed yet`;
          // The reading the store counted up to: the last one on the wire, or the one before if the
          // adapter was pulled while the last was on its way.
          const k = readings.findLastIndex((r) => r.importMwh === c.importMwh && r.exportMwh === c.exportMwh && r.boots === c.boots);
          if (k < readings.length - 2) return `meter ${node}: the store's last reading (${c.importMwh} mWh) is not among the last on the wire`;
          const truth = counted(readings, k);
          const lostImport = truth.importMwh - stored.importMwh;
          const lostExport = truth.exportMwh - stored.exportMwh;
          // Exact without a reboot; across one, only what the meter lost at its own power cut.
          const ok = truth.reboots === 0 ? lostImport === 0 && lostExport === 0 : lostImport >= 0 && lostExport >= 0 && lostImport + lostExport < 1000 * truth.reboots;
          return ok ? 'nothing lost' : `meter ${node}: registers counted ${truth.importMwh}/${truth.exportMwh} mWh, the store holds ${stored.importMwh}/${stored.exportMwh} (${truth.reboots} reboot(s))`;
        },
        { timeout: 20_000 },
      )
      .toBe('nothing lost');
  }
}

/** Entries of the history log with `code`, as the store holds them. */
async function logged(page: Page, code: string): Promise<string[]> {
  return page.evaluate(async (c) => {
    const name = (await indexedDB.databases()).map((d) => d.name ?? '').find((n) => n.startsWith('wattwall-history-'));
    if (!name) return [];
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const rows = await new Promise<{ code: string; message: string }[]>((resolve, reject) => {
      const r = db.transaction('log').objectStore('log').getAll();
      r.onsuccess = () => resolve(r.result as { code: string; message: string }[]);
      r.onerror = () => reject(r.error);
    });
    db.close();
    return rows.filter((e) => e.code === c).map((e) => e.message);
  }, code);
}

/** Today's energy a tile shows, in Wh. */
async function shownTodayWh(page: Page, node: number): Promise<number> {
  const text = (await tile(page, node).getByTestId('today').textContent()) ?? '';
  const m = /^([\d,.]+)\s*(k?Wh)/.exec(text.trim());
  if (!m?.[1]) throw new Error(`no energy on tile ${node}: "${text}"`);
  const value = Number(m[1].replace(/,/g, ''));
  return m[2] === 'kWh' ? value * 1000 : value;
}

test('adapter pulled mid-poll, bus-off, a meter silent, a meter rebooted, garbage on the line: the screen says each, no Wh is lost', async ({ page }) => {
  test.setTimeout(180_000);
  await open(page);

  // Pulled out 2 ms after a request left the adapter: replies are on the wire, the port is gone.
  await page.evaluate(() => window.__fakeAdapter?.unplugMidPoll());
  await expect(status(page)).toHaveText(`${ADAPTER} is unplugged: it reconnects when plugged back in`);
  await expect(alarm(page, 'adapter-lost')).toBeVisible();
  for (const node of NODES) await expect(tile(page, node).getByText('No answer')).toBeVisible();
  await page.waitForTimeout(3000);
  const beforeReplug = await updatedAt(page, 3);
  await page.evaluate(() => window.__fakeAdapter?.replug());
  await expect(status(page)).toHaveText(`Connected: ${ADAPTER}`);
  await expect(alarm(page, 'adapter-lost')).toHaveCount(0);
  await live(page, beforeReplug);

  // Bus-off: the monitor counts it and shows the controller back, polling goes on by itself.
  await page.getByRole('link', { name: 'Bus monitor' }).click();
  await page.evaluate(() => window.__fakeAdapter?.transmitErrors(32, 'bit'));
  await expect(page.getByTestId('bus-offs')).toHaveText('1');
  await expect(page.getByTestId('bus-state')).toHaveText('error-active', { timeout: 10_000 });
  await page.getByRole('link', { name: 'Now' }).click();
  await live(page, Date.now() - 1000);

  // The PV meter's cable is cut: its tile says so and an alarm names it; the heater goes on.
  await page.evaluate(() => window.__fakeAdapter?.setOffBus(21, true));
  await expect(tile(page, 21).getByText('No answer')).toBeVisible({ timeout: 10_000 });
  await expect(alarm(page, 'meter-silent')).toContainText('meter 21 does not answer');
  await expect(tile(page, 3).getByText('No answer')).toHaveCount(0);
  await page.waitForTimeout(4000);
  await page.evaluate(() => window.__fakeAdapter?.setOffBus(21, false));
  await expect(alarm(page, 'meter-silent')).toHaveCount(0, { timeout: 10_000 });
  await live(page, Date.now() - 1000);

  // The heater's meter loses power and boots again: the store notes it, the tile carries on.
  const bootsBefore = (await wire(page, 3)).at(-1)?.boots ?? 0;
  await page.evaluate(() => window.__fakeAdapter?.reboot(3));
  await expect.poll(async () => (await wire(page, 3)).at(-1)?.boots, { timeout: 20_000 }).toBe(bootsBefore + 1);
  await expect.poll(() => logged(page, 'meter-rebooted'), { timeout: 15_000 }).toHaveLength(1);
  await live(page, Date.now() - 1000);

  // Garbage from the adapter: bad lines are dropped, readings stay right, the monitor counts warnings.
  await page.evaluate(() => window.__fakeAdapter?.garble(4000, 11));
  await page.evaluate(() => window.__fakeAdapter?.garble(4000, 12));
  await live(page, Date.now() - 1000);
  const watts = Number(((await tile(page, 3).getByTestId('power').textContent()) ?? '').replace(/[^\d.]/g, ''));
  expect(watts).toBeGreaterThan(2900);
  expect(watts).toBeLessThan(3100);
  await expect(status(page)).toHaveText(`Connected: ${ADAPTER}`);

  await expectNothingLost(page);
});

test('forged and replayed records at full rate: rejected and counted, the alarm raised, nothing shown or stored from them', async ({ page }) => {
  test.setTimeout(150_000);
  await open(page);
  // Traffic for replays: a few genuine SNAPSHOT and ENERGY messages on the wire.
  await expect.poll(async () => (await wire(page, 3)).length, { timeout: 20_000 }).toBeGreaterThan(1);
  let sent = 0;
  for (let k = 0; k < 6; k++) {
    sent += await page.evaluate(() => (window.__fakeAdapter?.replay(3, 40) ?? 0) + (window.__fakeAdapter?.forge(3, 40) ?? 0));
    await page.waitForTimeout(500);
  }
  expect(sent).toBeGreaterThan(2000);
  await expect(alarm(page, 'rejected-burst')).toContainText('records from meter 3 failing verification');
  // Whatever arrived, the tile shows the heater's 3 kW, never the forged 9.9 kW.
  for (let k = 0; k < 5; k++) {
    const watts = Number(((await tile(page, 3).getByTestId('power').textContent()) ?? '').replace(/[^\d.]/g, ''));
    expect(watts).toBeLessThan(3100);
    await page.waitForTimeout(300);
  }
  await live(page, Date.now() - 1000);
  await page.getByRole('link', { name: 'Settings' }).click();
  const rejected = Number(await page.getByRole('form', { name: /^Meter 3/ }).getByTestId('rejected').textContent());
  expect(rejected).toBeGreaterThan(100);
  await expect(page.getByRole('form', { name: /^Meter 21/ }).getByTestId('rejected')).toHaveText('0');
  await page.getByRole('link', { name: 'Now' }).click();
  // The forged ENERGY claimed 500 kWh: the store holds only what the real registers counted.
  await expectNothingLost(page);
});

test('storage full: the screen says so, readings wait in memory, and nothing is lost once there is room', async ({ page }) => {
  test.setTimeout(150_000);
  await installStorageLimit(page);
  await open(page);
  const savedBefore = await shownTodayWh(page, 3);
  // The device's storage runs out: the browser refuses every write to the history.
  await setStorageFull(page, true);
  await expect(alarm(page, 'storage-full')).toBeVisible({ timeout: 20_000 });
  await expect(alarm(page, 'storage-full')).toContainText('wait in memory and are written as soon as there is room again');
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByTestId('storage')).toHaveText(/^Storage is full: \d+ items wait in memory/);
  await page.getByRole('link', { name: 'Now' }).click();
  await page.waitForTimeout(12_000);
  await expect(alarm(page, 'storage-full')).toBeVisible();

  // Room again: the next flush writes the backlog, the alarm goes.
  await setStorageFull(page, false);
  await expect(alarm(page, 'storage-full')).toHaveCount(0, { timeout: 20_000 });
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByTestId('storage')).toHaveText(/^Saved at/);
  await page.getByRole('link', { name: 'Now' }).click();
  // Today's energy takes in what waited: at 3 kW, well over 10 Wh in the time the disk was full.
  await expect.poll(() => shownTodayWh(page, 3), { timeout: 20_000 }).toBeGreaterThan(savedBefore + 10);
  await expectNothingLost(page);
});

test('the tab killed in the middle of a write and opened again: the history is whole and the day goes on', async ({ page, context }) => {
  test.setTimeout(150_000);
  await open(page);
  await page.waitForTimeout(6000);
  const before = await shownTodayWh(page, 3);
  const first = new Map<number, WireEnergy[]>();
  // pagehide starts a flush; the renderer dies while its transaction is in flight.
  for (const node of NODES) first.set(node, await wire(page, node));
  // The tab goes at once: no unload handlers, the renderer torn down with the transaction open.
  await page.evaluate(() => window.dispatchEvent(new Event('pagehide')));
  await page.close({ runBeforeUnload: false });

  // The same browser profile: the same IndexedDB, and the meters' flash (they lost power too).
  const again = await context.newPage();
  await installFakeSerial(again, { bitrate: 125_000, meters, granted: true });
  await again.goto('/');
  await expect(status(again)).toHaveText(`Connected: ${ADAPTER}`);
  await expect.poll(() => shownTodayWh(again, 3).catch(() => 0), { timeout: 30_000 }).toBeGreaterThan(before);
  await expect.poll(async () => (await wire(again, 3)).length, { timeout: 30_000 }).toBeGreaterThan(2);
  await expectNothingLost(again, first);
});

test('the tablet clock two hours ahead, then corrected: counting never stops, the meters hear the new time at once', async ({ page }) => {
  test.setTimeout(150_000);
  const AHEAD_MS = 2 * 3_600_000;
  await installClockOffset(page, AHEAD_MS);
  await open(page);
  const meterClock = async () => ((await wire(page, 3)).at(-1)?.timeS ?? 0) * 1000;
  await expect.poll(async () => Math.abs((await meterClock()) - (Date.now() + AHEAD_MS)), { timeout: 20_000 }).toBeLessThan(15_000);
  await page.waitForTimeout(4000);

  // NTP corrects the clock: it steps back two hours.
  await setClockOffset(page, 0);
  const atCorrection = (await wire(page, 3)).length;
  await expect.poll(async () => (await wire(page, 3)).length, { timeout: 30_000 }).toBeGreaterThan(atCorrection + 1);
  // The meters run on the corrected time (the broadcast went out at once, not 10 minutes later).
  expect(Math.abs((await meterClock()) - Date.now())).toBeLessThan(15_000);
  await expect.poll(() => logged(page, 'clock-stepped-back'), { timeout: 15_000 }).not.toHaveLength(0);
  // Today's energy goes on growing after the step; before the fix it stood still for two hours.
  const afterStep = await shownTodayWh(page, 3);
  await expect.poll(() => shownTodayWh(page, 3), { timeout: 30_000 }).toBeGreaterThan(afterStep + 5);
  await expectNothingLost(page);
});

test.describe('in Rome, on the night the clocks go back', () => {
  test.use({ timezoneId: 'Europe/Rome', locale: 'en-GB' });

  test('the 25-hour day goes on across 03:00 CEST → 02:00 CET: today stays today and every Wh is in it', async ({ page }) => {
    test.setTimeout(150_000);
    // 02:59:35 CEST on 25 October 2026; the clocks go back at 03:00 CEST (01:00 UTC).
    const target = Date.UTC(2026, 9, 25, 0, 59, 35);
    await installClockOffset(page, target - Date.now());
    await open(page);
    await expect.poll(() => page.evaluate(() => new Date().getTimezoneOffset()), { timeout: 60_000 }).toBe(-60);
    const before = await shownTodayWh(page, 3);
    await expect.poll(() => shownTodayWh(page, 3), { timeout: 30_000 }).toBeGreaterThan(before + 5);
    // Everything stored lies on 25 October, local: the tile's "today" is all of it.
    const stored = (await storedEnergy(page)).byNode.get(3)?.importMwh ?? 0;
    const shown = await shownTodayWh(page, 3);
    expect(Math.abs(shown - stored / 1000)).toBeLessThan(Math.max(1, stored / 1000 / 100));
    await expectNothingLost(page);
  });
});

test('a slow price API: the screen says it is fetching and prices at the fallback meanwhile, then uses the answer; no Wh is lost', async ({ page }) => {
  test.setTimeout(150_000);
  // Nothing leaves the machine; Energy-Charts answers, but only after 8 s.
  await page.context().route((url) => url.hostname !== 'localhost', (route) => route.abort('blockedbyclient'));
  let answered = 0;
  await page.route('https://api.energy-charts.info/**', async (route) => {
    const url = new URL(route.request().url());
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const from = Date.parse(url.searchParams.get('start') ?? '');
    const to = Date.parse(url.searchParams.get('end') ?? '') + 900_000;
    const unix_seconds: number[] = [];
    const price: number[] = [];
    for (let t = from; t < to; t += 900_000) {
      unix_seconds.push(t / 1000);
      price.push(120);
    }
    answered++;
    await route.fulfill({ json: { license_info: 'CC BY 4.0', unix_seconds, price, unit: 'EUR / MWh', deprecated: false }, headers: { 'access-control-allow-origin': '*' } }).catch(() => undefined);
  });
  await open(page);
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  const form = page.getByRole('form', { name: 'Tariff and prices' });
  const energy = form.getByRole('group', { name: 'Energy', exact: true });
  await energy.getByLabel('Kind').selectOption({ label: 'Market price plus a spread' });
  await energy.getByLabel('Spread over the market price').fill('0.02');
  await energy.getByRole('combobox', { name: /^Fallback/ }).selectOption({ label: 'One price' });
  await energy.getByLabel('Fallback energy price').fill('0.3');
  const source = form.getByRole('group', { name: 'Market prices' });
  await source.getByLabel('Price source').selectOption({ label: 'Energy-Charts' });
  await source.getByLabel('Bidding zone').selectOption('IT-North');
  await form.getByRole('button', { name: 'Save the tariff' }).click();
  await expect(form.getByRole('status')).toHaveText('Tariff saved: costs and bills now use it.');
  const status = page.getByTestId('price-status');
  // While the server thinks: fetching, and costs at the fallback, said so.
  await expect(status).toContainText('Fetching prices from Energy-Charts (IT-North)');
  await expect(page.getByTestId('price-fallback')).toBeVisible();
  // The bill waits for the period's prices, and says it is computing (a server that never answers
  // is given up on after 30 s, and the bill then uses the fallback: src/lib/tariff/providers/common.ts).
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Computing…' })).toBeVisible();
  // The answer, late: the prices are used, the fallback notice goes, the bill is there.
  await expect(page.getByTestId('price-status')).toContainText(/^Prices from Energy-Charts \(IT-North\), known until/, { timeout: 30_000 });
  await expect(page.getByTestId('price-fallback')).toHaveCount(0);
  await expect(page.getByTestId('bill-total')).toBeVisible({ timeout: 20_000 });
  expect(answered).toBeGreaterThan(0);
  await page.getByRole('link', { name: 'Now', exact: true }).click();
  await expectNothingLost(page);
});
