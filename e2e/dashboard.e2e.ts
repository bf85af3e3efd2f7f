import { mkdirSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import type { Draw } from '../src/lib/sim/waveforms';
import { installFakeSerial, noAxeViolations, shownWatts } from './fixtures';

// Every screen of the dashboard against the simulated bus: what it shows, what it does,
// accessibility (axe-core, no violations), and screenshots in both themes kept as artefacts.

const SHOTS = 'test-results/screens';
mkdirSync(SHOTS, { recursive: true });

const kettle: Draw = { power: 2000, powerFactor: 1, harmonics: [] };
const pv: Draw = { power: -1200, powerFactor: 0.98, harmonics: [{ order: 5, ratio: 0.03, phase: 1 }] };
const meters = [
  { nodeId: 2, name: 'Kettle', draw: kettle },
  { nodeId: 9, name: 'PV', draw: pv },
];

test('Now shows the site at a glance and a tile per load, in both themes, with no accessibility violations', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);
  await expect(page.locator('article[data-node]')).toHaveCount(6);
  await expect(page.getByRole('heading', { name: 'Generation', level: 2 }).first()).toBeVisible();
  // The PV inverter is generation, not a load.
  await expect(page.getByRole('region', { name: 'Generation' }).locator('article[data-node="10"]')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Loads' }).locator('article[data-node]')).toHaveCount(5);
  const consumption = Number((await page.getByTestId('consumption').locator('.value').textContent())?.replace(/[^\d]/g, ''));
  expect(consumption).toBeGreaterThan(100);
  await noAxeViolations(page, 'Now (system dark)');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}/now-${scheme}-landscape.png` });
    await page.setViewportSize({ width: 800, height: 1280 });
    await page.screenshot({ path: `${SHOTS}/now-${scheme}-portrait.png` });
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await noAxeViolations(page, 'Now (light)');

  // Over the contracted power (+10 % the meter tolerates): the alarm area says so.
  await page.goto('/#/settings');
  await page.getByLabel('Contracted power (kW)').fill('0.5');
  await page.getByRole('button', { name: 'Save' }).first().click();
  await page.getByRole('link', { name: 'Now' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Over contracted power' })).toContainText(/its 500 W contract tolerates 550 W/);
  await noAxeViolations(page, 'Now with an alarm');
  await page.screenshot({ path: `${SHOTS}/now-alarm-light.png` });
});

test('switching a load asks first, then the PIN, and the meter’s relay really opens', async ({ page }) => {
  test.setTimeout(90_000);
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/#/settings');
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  await page.getByLabel('New PIN (4 to 8 digits)').fill('2468');
  await page.getByRole('button', { name: 'Set PIN' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'PIN set.' })).toBeVisible();
  // The PIN unlocks for five minutes; lock it again at once.
  await page.getByRole('button', { name: 'Lock now' }).click();

  await page.getByRole('link', { name: 'Now' }).click();
  const tile = page.locator('article[data-node="2"]');
  await expect(tile.getByTestId('relay')).toHaveText('Switched on');
  await tile.getByRole('button', { name: 'Switch off' }).click();
  const dialog = page.getByRole('dialog', { name: 'Switch off Meter 2?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect(await page.evaluate(() => window.__fakeSerial?.relayOf(2))).toBe(true);

  await tile.getByRole('button', { name: 'Switch off' }).click();
  await dialog.getByLabel('PIN').fill('1111');
  await dialog.getByRole('button', { name: 'Switch off' }).click();
  await expect(dialog.getByRole('alert')).toHaveText('Wrong PIN.');
  expect(await page.evaluate(() => window.__fakeSerial?.relayOf(2))).toBe(true);
  await dialog.getByLabel('PIN').fill('2468');
  await dialog.getByRole('button', { name: 'Switch off' }).click();
  await expect(dialog).toBeHidden();
  await expect.poll(() => page.evaluate(() => window.__fakeSerial?.relayOf(2))).toBe(false);
  await expect(tile.getByTestId('relay')).toHaveText('Switched off');
  await expect.poll(async () => shownWatts(tile), { timeout: 5000 }).toBeLessThan(5);
  await noAxeViolations(page, 'Now with a switched-off load');
});

test('a load in detail: its live power, the profile chart, energy bars and period controls', async ({ page }) => {
  test.setTimeout(60_000);
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  const link = page.locator('article[data-node="2"]').getByRole('link', { name: 'Meter 2' });
  await link.click();
  await expect(page).toHaveURL(/#\/load\/[0-9a-f]{24}$/);
  await expect(page.getByRole('heading', { name: 'Meter 2', level: 1 })).toBeVisible();
  await expect.poll(async () => Number((await page.getByTestId('live-power').textContent())?.replace(/[^\d]/g, '')), { timeout: 10_000 }).toBeGreaterThan(1900);
  // The profile fills in as the history is written.
  await expect(page.getByRole('region', { name: 'Power profile' }).locator('canvas')).toBeVisible({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Week', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Week', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Earlier period' }).click();
  await expect(page.getByTestId('period-energy')).toHaveText('0 Wh');
  await page.getByRole('button', { name: 'Later period' }).click();
  await page.getByRole('button', { name: 'Day', exact: true }).click();
  await expect.poll(async () => Number((await page.getByTestId('period-energy').textContent())?.replace(/[^\d]/g, '')), { timeout: 30_000 }).toBeGreaterThan(0);
  await noAxeViolations(page, 'Load detail');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}/load-${scheme}.png`, fullPage: true });
  }
});

test('power quality shows voltage and frequency over time and the events list', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto('/#/quality');
  await expect(page.getByRole('heading', { name: 'Power quality', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Meter')).toHaveValue(/^[0-9a-f]{24}$/, { timeout: 15_000 });
  await expect(page.getByRole('region', { name: 'Voltage', exact: true }).locator('canvas')).toBeVisible({ timeout: 30_000 });
  // the meters measure harmonics (THD of the demo supply: 1.8 %)
  await expect(page.getByRole('region', { name: 'THD of voltage', exact: true }).locator('canvas')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('region', { name: 'Dips, swells and interruptions' })).toBeVisible();
  await noAxeViolations(page, 'Power quality');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}/quality-${scheme}.png`, fullPage: true });
  }
});

test('settings: Italian, a chosen theme, the site key once as a QR code, and nothing without the PIN', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto('/#/settings');
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
  // The key is shown once, as text and QR, until the user says it is saved.
  const key = page.getByTestId('site-key');
  await expect(key.locator('code')).toHaveText(/^[0-9a-f]{64}$/);
  await expect(key.getByRole('img', { name: 'The site key as a QR code' })).toBeVisible();
  await noAxeViolations(page, 'Settings');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}/settings-${scheme}.png`, fullPage: true });
  }
  await key.getByRole('button', { name: 'I have saved it' }).click();
  await expect(key).toBeHidden();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Show the site key' })).toBeVisible();

  await page.getByLabel('Theme').selectOption('light');
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  await page.getByLabel('Language').selectOption('it');
  await expect(page.getByRole('heading', { name: 'Impostazioni', level: 1 })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'it');
  await page.getByRole('link', { name: 'Adesso' }).click();
  await expect(page.getByRole('heading', { name: 'Consumo' })).toBeVisible();
  await noAxeViolations(page, 'Now in Italian');
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Consumo' })).toBeVisible();

  // With a PIN the settings lock: the forms are disabled until it is entered.
  await page.goto('/#/settings');
  await page.getByLabel('Nuovo PIN (da 4 a 8 cifre)').fill('1357');
  await page.getByRole('button', { name: 'Imposta PIN' }).click();
  await page.getByRole('button', { name: 'Blocca ora' }).click();
  await expect(page.getByRole('heading', { name: 'Le impostazioni sono bloccate' })).toBeVisible();
  await expect(page.getByLabel('Potenza impegnata (kW)')).toBeDisabled();
  await page.getByRole('form', { name: 'Sblocca' }).getByLabel('PIN').fill('1357');
  await page.getByRole('button', { name: 'Sblocca' }).click();
  await expect(page.getByLabel('Potenza impegnata (kW)')).toBeEnabled();
  await page.getByLabel('Potenza impegnata (kW)').fill('4.5');
  await page.getByRole('button', { name: 'Salva' }).first().click();
  await expect(page.getByRole('status').filter({ hasText: 'Salvato.' })).toBeVisible();
});

test('night dimming darkens the wall tablet at night until it is touched', async ({ page }) => {
  await page.clock.install({ time: new Date(2026, 11, 1, 23, 30) });
  await page.goto('/#/settings');
  await page.getByLabel('Dim the screen at night').check();
  // A minute after the last touch, inside the window, the screen dims.
  await page.clock.runFor(2 * 60_000);
  const dim = page.getByRole('button', { name: 'Night dimming: touch to wake' });
  await expect(dim).toBeVisible();
  await dim.click();
  await expect(dim).toBeHidden();
});

test('the bill and bus monitor screens are in the navigation; a skip link leads past it', async ({ page }) => {
  await page.goto('/');
  // Keyboard: the first Tab reaches the skip link, which leads past the navigation to the screen.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  for (const [name, heading] of [
    ['Bill', 'Bill'],
    ['Bus monitor', 'Bus monitor'],
  ] as const) {
    await page.getByRole('link', { name }).click();
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
    await noAxeViolations(page, name);
  }
});
