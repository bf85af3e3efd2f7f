import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import type { Draw } from '../src/lib/sim/waveforms';
import { installFakeSerial } from './fixtures';

// The history in the browser's real IndexedDB, behind the app's real driver and the simulated bus.
const kettle: Draw = { power: 2000, powerFactor: 1, harmonics: [] };
const lamp: Draw = { power: 60, powerFactor: 1, harmonics: [] };
const meters = [
  { nodeId: 7, name: 'Kettle', draw: kettle },
  { nodeId: 12, name: 'Lamp', draw: lamp },
];

/** Today's energy a tile shows, in Wh. */
async function shownTodayWh(page: Page, node: number): Promise<number> {
  const text = (await page.locator(`article[data-node="${node}"]`).getByTestId('today').textContent()) ?? '';
  const m = /^([\d,.]+)\s*(k?Wh)/.exec(text.trim());
  if (!m?.[1]) throw new Error(`no energy on tile ${node}: "${text}"`);
  const value = Number(m[1].replace(/,/g, ''));
  return m[2] === 'kWh' ? value * 1000 : value;
}

test('energy, names and history persist across a reload, and export as CSV', async ({ page }) => {
  test.setTimeout(90_000);
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');

  // Name the meter: the registry keeps it.
  await page.getByRole('link', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: /^Meter 7/ });
  await form.getByLabel('Name').fill('Kettle');
  await form.getByLabel('Priority').fill('10');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('form', { name: 'Meter 7: Kettle' })).toBeVisible();
  // Poll timing against the bus bound, and reply latency per meter.
  await expect(page.getByTestId('cycle')).toHaveText(/Poll cycle [\d.]+ ms for 2 meter\(s\); the bus needs at least [\d.]+ ms/);
  await expect(page.getByRole('form', { name: 'Meter 7: Kettle' }).getByTestId('latency')).toHaveText(/ms \(median\)/);

  // Energy from the registers reaches the ledger and the tile.
  await page.getByRole('link', { name: 'Now' }).click();
  await expect.poll(() => shownTodayWh(page, 7).catch(() => 0), { timeout: 30_000 }).toBeGreaterThan(2);
  const before = await shownTodayWh(page, 7);
  // At 2 kW, 1 Wh every 1.8 s: the tile cannot be far from the elapsed time.
  expect(before).toBeLessThan(40);

  await page.reload();
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  await expect(page.locator('article[data-node="7"]').getByRole('heading')).toHaveText('Kettle');
  // The day continues from what was stored: nothing was lost or counted twice.
  await expect.poll(() => shownTodayWh(page, 7).catch(() => 0), { timeout: 30_000 }).toBeGreaterThan(before);

  await page.getByRole('link', { name: 'Settings' }).click();
  const exportForm = page.getByRole('form', { name: 'Export CSV' });
  const downloading = page.waitForEvent('download');
  await exportForm.getByRole('button', { name: 'Export CSV' }).click();
  const csv = readFileSync((await (await downloading).path()) as string, 'utf8').split('\r\n').filter(Boolean);
  expect(csv[0]).toBe('slot_start,slot_end,meter,uid,import_wh,export_wh,quality');
  const kettleWh = csv
    .slice(1)
    .filter((l) => l.includes(',Kettle,'))
    .reduce((sum, l) => sum + Number(l.split(',')[4]), 0);
  expect(kettleWh).toBeGreaterThan(before);
  expect(csv.slice(1).some((l) => l.includes(',Meter 12,'))).toBe(true);
});

test('a backup restores the history and the site key into a fresh browser', async ({ page, browser }) => {
  test.setTimeout(90_000);
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  await page.getByRole('link', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: /^Meter 7/ });
  await form.getByLabel('Name').fill('Kettle');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: 'Now' }).click();
  await expect.poll(() => shownTodayWh(page, 7).catch(() => 0), { timeout: 30_000 }).toBeGreaterThan(2);
  const stored = await shownTodayWh(page, 7);
  const siteKey = await page.evaluate(() => localStorage.getItem('wattwall.site-key'));

  await page.getByRole('link', { name: 'Settings' }).click();
  const backupForm = page.getByRole('form', { name: 'Backup' });
  await backupForm.getByLabel('Passphrase (optional)').fill('long enough passphrase');
  const downloading = page.waitForEvent('download');
  await backupForm.getByRole('button', { name: 'Download backup' }).click();
  const file = (await (await downloading).path()) as string;

  // The meters are the same physical devices: their flash (counters, registers) carries over.
  const meterFlash = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('wattwall.e2e.meter-nv')));
  await page.close();

  // A new tablet: empty storage, a site key of its own that the meters do not know.
  const fresh = await browser.newContext();
  const tablet = await fresh.newPage();
  await tablet.addInitScript((entries) => {
    if (!sessionStorage.getItem('flash-copied')) for (const [k, v] of entries) localStorage.setItem(k, v);
    sessionStorage.setItem('flash-copied', '1');
  }, meterFlash);
  await installFakeSerial(tablet, { bitrate: 125_000, meters, granted: true }, { giveSiteKey: false });
  await tablet.goto('/');
  await expect(tablet.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  // Its key is not the site's: no meter proves its identity, nothing shows.
  await tablet.waitForTimeout(3000);
  await expect(tablet.locator('article[data-node]')).toHaveCount(0);

  await tablet.getByRole('link', { name: 'Settings' }).click();
  const restoreForm = tablet.getByRole('form', { name: 'Restore' });
  await restoreForm.getByLabel('Backup file').setInputFiles(file);
  await restoreForm.getByLabel('Passphrase, if it has one').fill('wrong passphrase');
  await restoreForm.getByRole('button', { name: 'Restore' }).click();
  await expect(tablet.getByRole('alert').filter({ hasText: 'wrong passphrase' })).toBeVisible();
  await restoreForm.getByLabel('Passphrase, if it has one').fill('long enough passphrase');
  await restoreForm.getByRole('button', { name: 'Restore' }).click();
  await expect(tablet.getByRole('status').filter({ hasText: /^Restored \d+ records\.$/ })).toBeVisible();
  expect(await tablet.evaluate(() => localStorage.getItem('wattwall.site-key'))).toBe(siteKey);

  // With the site's key and history back, the meters answer and the day goes on from the backup.
  await expect(tablet.getByRole('form', { name: 'Meter 7: Kettle' })).toBeVisible({ timeout: 15_000 });
  await tablet.getByRole('link', { name: 'Now' }).click();
  await expect.poll(() => shownTodayWh(tablet, 7).catch(() => 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(stored);
  // The restored freshness state accepts the meters' records as they come: none rejected.
  await tablet.getByRole('link', { name: 'Settings' }).click();
  await expect(tablet.getByRole('form', { name: 'Meter 7: Kettle' }).getByTestId('rejected')).toHaveText('0');
  await fresh.close();
});

test('the demo bus keeps its household’s history in IndexedDB', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);
  await expect(page.locator('article[data-node="4"]').getByRole('heading')).toHaveText('Heat pump');
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('form', { name: /^Meter 10: PV inverter/ })).toBeVisible();
  await expect(page.getByTestId('storage')).toHaveText(/Saved at/, { timeout: 20_000 });
  const names = await page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    const name = dbs.map((d) => d.name ?? '').find((n) => n.startsWith('wattwall-history-'));
    if (!name) return [];
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const rows = await new Promise<{ name: string }[]>((resolve, reject) => {
      const r = db.transaction('meters').objectStore('meters').getAll();
      r.onsuccess = () => resolve(r.result as { name: string }[]);
      r.onerror = () => reject(r.error);
    });
    db.close();
    return rows.map((m) => m.name).sort();
  });
  expect(names).toEqual(['Fridge', 'Heat pump', 'Living room and office', 'Oven', 'PV inverter', 'Washing machine']);
});
