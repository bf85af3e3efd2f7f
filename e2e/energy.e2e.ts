import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import type { Draw } from '../src/lib/sim/waveforms';
import { installFakeSerial } from './fixtures';

// The energy manager on the simulated bus, through the app's real drivers: the guard's commands
// must reach the simulated meters' relays, which decide what their loads draw.
const resistive = (power: number): Draw => ({ power, powerFactor: 1, harmonics: [] });

/** No test reaches the network: the forecast is served by the test, anything else is refused. */
async function offline(page: Page): Promise<void> {
  await page.route(/^https?:\/\/(?!localhost[:/])/, (route) => route.abort('internetdisconnected'));
}

/** The simulated meter's own relay. */
const relayOn = (page: Page, node: number) => page.evaluate((n) => window.__fakeSerial?.relayOf(n), node);

async function nameMeter(page: Page, node: number, name: string, priority: number, interruptible = true) {
  const form = page.getByRole('form', { name: new RegExp(`^Meter ${node}:`) });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Priority').fill(String(priority));
  await form.getByLabel('May be switched off mid-cycle').setChecked(interruptible);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('form', { name: `Meter ${node}: ${name}` })).toBeVisible();
}

async function noAxeViolations(page: Page) {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const result = await new AxeBuilder({ page }).include('main').analyze();
    expect(result.violations.map((v) => `${scheme}: ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: null });
}

test('the guard sheds the lowest-priority load when a kettle and an oven overload the site, and restores it when there is room', async ({ page }) => {
  test.setTimeout(180_000);
  await offline(page);
  await installFakeSerial(page, {
    bitrate: 125_000,
    granted: true,
    meters: [
      { nodeId: 1, name: 'House', draw: resistive(400) },
      { nodeId: 5, name: 'Oven', draw: resistive(2400) },
      { nodeId: 7, name: 'Kettle', draw: resistive(0) },
    ],
  });
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');

  // The user ranks the loads: the kettle matters more than the oven (1 = switched off last).
  await page.getByRole('link', { name: 'Settings' }).click();
  await nameMeter(page, 1, 'House', 1, false);
  await nameMeter(page, 5, 'Oven', 70);
  await nameMeter(page, 7, 'Kettle', 20);

  // The contract is the default 3 kW (3.3 kW for ever); the calm before a restore, 20 s.
  await page.getByRole('link', { name: 'Energy' }).click();
  await expect(page.getByRole('heading', { name: 'Energy management' })).toBeVisible();
  const settings = page.getByRole('form', { name: 'Guard settings' });
  await settings.getByLabel('Calm before restoring (seconds)').fill('20');
  await settings.getByRole('button', { name: 'Save' }).click();
  await expect(settings.getByRole('status')).toHaveText('Saved.');
  const guard = page.getByTestId('guard');
  await expect(guard.getByTestId('zone')).toHaveText('Within the limit');
  // Nothing is switched that the user has not allowed: the oven and the kettle may be, the house not.
  for (const name of ['Oven', 'Kettle']) {
    await guard.getByLabel(`Let the energy manager switch ${name}`).check();
    await expect(guard.getByLabel(`Let the energy manager switch ${name}`)).toBeChecked();
  }
  await expect(guard.getByLabel('Let the energy manager switch House')).not.toBeChecked();
  await expect(guard.getByTestId('guard-loads').locator('tr', { hasText: 'Oven' }).getByTestId('load-state')).toHaveText('on');
  expect(await relayOn(page, 5)).toBe(true);

  // The kettle: 400 + 2400 + 2000 W against 3300 W, and the meter would trip in two minutes.
  const kettleOnAt = Date.now();
  await page.evaluate(() => window.__fakeSerial?.setDraw(7, { power: 2000, powerFactor: 1, harmonics: [] }));
  await expect.poll(() => relayOn(page, 5), { timeout: 30_000, message: "the oven's meter opens its relay" }).toBe(false);
  const shedAfterS = (Date.now() - kettleOnAt) / 1000;
  expect(shedAfterS).toBeGreaterThan(5); // an overload must last 5 s: an inrush is not one
  expect(shedAfterS).toBeLessThan(30);
  expect(await relayOn(page, 7)).toBe(true);
  expect(await relayOn(page, 1)).toBe(true);

  await expect(guard.getByTestId('shed-list')).toContainText('Oven, off since');
  await expect(guard.getByTestId('shed-list')).toContainText('lowest priority that may go (priority 70, 2,4');
  const log = page.getByTestId('guard-log');
  await expect(log.locator('li[data-reason="shed"]')).toContainText(/^\d\d:\d\d\s?(AM|PM)?\s*Oven off: the site drew [\d,]+ W, above the 3,300 W allowed/);
  await expect(log.locator('li[data-kind="overload"]')).toHaveCount(1);
  // With the oven off the site is back under its limit: the import the guard sees has fallen.
  await expect.poll(async () => Number(((await guard.getByTestId('guard-import').textContent()) ?? '').replace(/[^\d]/g, '')), { timeout: 10_000 }).toBeLessThan(3300);
  await noAxeViolations(page);

  // The Now screen says it in a line, with a way to the details.
  await page.getByRole('link', { name: 'Now', exact: true }).click();
  await expect(page.getByTestId('guard-notice')).toContainText('1 load(s) switched off to stay under 3,300 W');
  await expect(page.getByTestId('guard-notice')).toContainText('Oven since');
  // The oven stays off while the kettle boils: there is no room for it.
  await page.waitForTimeout(3000);
  expect(await relayOn(page, 5)).toBe(false);

  // The kettle has boiled and switches itself off: the oven comes back, once.
  await page.evaluate(() => window.__fakeSerial?.setDraw(7, { power: 0, powerFactor: 1, harmonics: [] }));
  await expect.poll(() => relayOn(page, 5), { timeout: 40_000, message: "the oven's meter closes its relay again" }).toBe(true);
  await expect(page.getByTestId('guard-notice')).toHaveCount(0);
  await page.getByRole('link', { name: 'Energy' }).click();
  await expect(guard.getByText('No load is switched off by the guard.')).toBeVisible();
  await expect(log.locator('li[data-reason="restore"]')).toContainText('Oven back on: with its 2,4');
  await expect(log.locator('li[data-kind="action"]')).toHaveCount(2);

  // In Italian, the same log.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Language').selectOption('it');
  await page.getByRole('link', { name: 'Energia' }).click();
  await expect(page.getByRole('heading', { name: "Gestione dell'energia" })).toBeVisible();
  await expect(log.locator('li[data-reason="shed"]')).toContainText('Distacco di Oven');
  await expect(log.locator('li[data-reason="restore"]')).toContainText('Riattacco di Oven');
});

test.describe('in Rome', () => {
  test.use({ timezoneId: 'Europe/Rome' });

  test('a planned run waits with its relay open, and starts in the sunny quarter hour the forecast gives', async ({ page }) => {
    test.setTimeout(180_000);
    await offline(page);
    // The forecast for the panels: sunshine in one quarter hour only, 13:00–13:15 UTC (15:00 in Rome).
    const sunny = Date.UTC(2026, 5, 15, 13, 15) / 1000;
    const asked: string[] = [];
    await page.route('https://api.open-meteo.com/**', async (route) => {
      asked.push(route.request().url());
      const time = Array.from({ length: 3 * 96 }, (_, i) => Date.UTC(2026, 5, 15) / 1000 + (i + 1) * 900);
      const at = (v: number) => time.map((t) => (t === sunny ? v : 0));
      await route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          latitude: 45.07,
          longitude: 7.69,
          minutely_15: { time, shortwave_radiation: at(850), direct_normal_irradiance: at(750), diffuse_radiation: at(120), temperature_2m: time.map(() => 24) },
        }),
      });
    });
    await page.clock.install({ time: new Date('2026-06-15T12:50:00Z') });
    await installFakeSerial(page, {
      bitrate: 125_000,
      granted: true,
      meters: [
        { nodeId: 1, name: 'House', draw: resistive(300) },
        { nodeId: 3, name: 'Washer', draw: resistive(2) },
      ],
    });
    await page.goto('/');
    await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');

    await page.getByRole('link', { name: 'Settings' }).click();
    await nameMeter(page, 3, 'Washing machine', 40, false);
    const site = page.getByRole('form', { name: 'Site' });
    await site.getByLabel('Latitude').fill('45.07');
    await site.getByLabel('Longitude').fill('7.69');
    await site.getByLabel('Peak power (kWp)').fill('3');
    await site.getByLabel('Tilt (°)').fill('30');
    await site.getByLabel('Azimuth (°, 180 = south)').fill('180');
    await site.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();

    // From the washing machine's page: a 15-minute programme at 1 kW, by 16:00 Rome time, on solar.
    await page.getByRole('link', { name: 'Now', exact: true }).click();
    await page.locator('article[data-node="3"]').getByRole('link', { name: 'Washing machine' }).click();
    // The user lets the energy manager switch the washing machine; then it can be planned.
    const prefs = page.getByTestId('load-prefs');
    await expect(page.getByTestId('plan-run-form')).toHaveCount(0);
    await prefs.getByLabel('The energy manager may switch this load (shedding and plans)').check();
    await prefs.getByRole('button', { name: 'Save' }).click();
    await expect(prefs.getByRole('status')).toHaveText('Saved.');
    const form = page.getByTestId('plan-run-form');
    await form.getByLabel('Programme').selectOption('custom');
    await form.getByLabel('Power (W)').fill('1000');
    await form.getByLabel('Length (minutes)').fill('15');
    const latest = await page.evaluate(() => {
      const d = new Date(Date.UTC(2026, 5, 15, 14, 0));
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await form.getByLabel('Latest end').fill(latest);
    await form.getByLabel('Most solar').check();
    await form.getByRole('button', { name: 'Plan it' }).click();
    await expect(form.getByRole('status')).toHaveText('Planned: the relay follows the plan.');

    // The plan puts it in the sunny quarter hour; until then the washer's relay is open.
    const sunnyStart = await page.evaluate((ms) => new Date(ms).toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' }), Date.UTC(2026, 5, 15, 13, 0));
    await expect(page.getByTestId('run-status')).toHaveText(new RegExp(`^Planned ${sunnyStart}–`), { timeout: 20_000 });
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked[0]).toContain('latitude=45.0700');
    await expect.poll(() => relayOn(page, 3), { timeout: 15_000, message: "the washer's relay opens until its start" }).toBe(false);

    // The energy screen: cost against running now and against the cheapest slots alone, proven optimal.
    await page.getByRole('link', { name: 'Energy' }).click();
    await expect(page.getByTestId('plan-method')).toContainText('Proven optimal');
    const money = async (id: string) => Number(((await page.getByTestId(id).textContent()) ?? '').replace(/[^\d.]/g, ''));
    expect(await money('plan-cost')).toBeLessThan(await money('plan-run-now'));
    expect(await money('plan-cost')).toBeLessThan(await money('plan-naive'));
    await expect(page.getByTestId('solar-info')).toContainText('Solar forecast:');
    await expect(page.getByTestId('plan-timeline')).toBeVisible();
    await expect(page.getByTestId('guard-log').locator('li[data-reason="stop"]')).toContainText(`Washing machine off until its planned start at ${sunnyStart}`);
    await noAxeViolations(page);

    // Someone loads the machine and presses start: without power nothing happens. Time passes.
    await page.evaluate(() => window.__fakeSerial?.setDraw(3, { power: 1000, powerFactor: 1, harmonics: [] }));
    await page.clock.pauseAt(new Date('2026-06-15T12:59:45Z'));
    await page.clock.resume();
    expect(await relayOn(page, 3)).toBe(false);
    await expect.poll(() => relayOn(page, 3), { timeout: 40_000, message: "the washer's relay closes at its slot" }).toBe(true);
    const closedAt = await page.evaluate(() => Date.now());
    expect(closedAt).toBeGreaterThanOrEqual(Date.UTC(2026, 5, 15, 13, 0));
    expect(closedAt).toBeLessThan(Date.UTC(2026, 5, 15, 13, 0, 30));
    await expect(page.getByTestId('run-status')).toHaveText(/^Running/, { timeout: 15_000 });
    await expect(page.getByTestId('guard-log').locator('li[data-reason="start"]')).toContainText(`Washing machine on for its planned run ${sunnyStart}`);
  });
});
