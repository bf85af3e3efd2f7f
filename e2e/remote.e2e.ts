/**
 * Remote view through a real Mosquitto on loopback (WebSockets): a site's page on the demo bus
 * publishes; a viewer's page, in a browser context of its own, pairs with it and shows the same
 * figures; a switch from the viewer reaches the simulated meter; the broker stopped and started
 * again (forgetting everything it held) loses nothing.
 */
import { expect, type Locator, type Page, test } from '@playwright/test';
import { connectBroker } from '../src/lib/remote/broker';
import { type CostMessage, readCost } from '../src/lib/remote/protocol';
import { type Mosquitto, startMosquitto } from '../src/lib/remote/testing/mosquitto';
import { localDateOf } from '../src/lib/tariff/zone';
import { noAxeViolations } from './fixtures';

let broker: Mosquitto;
test.beforeAll(async () => {
  broker = await startMosquitto();
});
test.afterAll(async () => {
  await broker?.stop();
});

const LOAD = 'Living room and office';

/** Today's energy a tile shows, mWh (the number behind the text). */
async function todayMwh(tile: Locator): Promise<number> {
  return Number(await tile.getByTestId('today').getAttribute('data-import-mwh'));
}

async function siteOnBroker(page: Page): Promise<string> {
  await page.goto('/');
  await expect(page.getByRole('article', { name: LOAD })).toBeVisible();
  await page.goto('/#/settings');
  const form = page.getByRole('form', { name: 'MQTT broker' });
  await form.getByLabel('Publish to the broker').check();
  await form.getByLabel('Broker address (ws:// or wss://)').fill(broker.url);
  await form.getByLabel('Topic prefix').fill('e2e');
  await form.getByLabel('Site name').fill('Casa Rossi');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('remote-status')).toContainText('Connected to');
  const pair = page.getByRole('form', { name: 'Pair a viewer' });
  await pair.getByLabel('Name of the new viewer').fill('phone');
  await pair.getByRole('button', { name: 'Pair a viewer' }).click();
  const code = (await page.getByTestId('pairing-code').locator('code').textContent())?.trim() ?? '';
  expect(code).toMatch(/^wwv1:/);
  await page.goto('/#/now');
  return code;
}

async function viewerOf(page: Page, code: string): Promise<void> {
  await page.goto('/#/settings');
  const sites = page.getByRole('region', { name: 'Remote sites' });
  const form = sites.getByRole('form', { name: 'Broker' });
  await form.getByLabel('Broker address (ws:// or wss://)').fill(broker.url);
  await form.getByLabel('Topic prefix').fill('e2e');
  await form.getByRole('button', { name: 'Find sites on the broker' }).click();
  // The site announces itself on the broker; this browser is not paired with it yet.
  const listed = sites.getByRole('list', { name: 'Sites on the broker' }).getByRole('listitem');
  await expect(listed.filter({ hasText: 'Casa Rossi' })).toContainText('Not paired');
  const pair = sites.getByRole('form', { name: 'Pair and view' });
  await pair.getByLabel('Pairing code').fill(code);
  await pair.getByRole('button', { name: 'Pair and view' }).click();
  await expect(page.getByTestId('remote-banner')).toContainText('Remote view of Casa Rossi');
}

/** Both pages show the same energy today for the load, to the mWh (sampled until they agree). */
async function sameEnergy(site: Page, viewer: Page): Promise<number> {
  let shown = 0;
  await expect
    .poll(
      async () => {
        const [a, b] = await Promise.all([todayMwh(site.getByRole('article', { name: LOAD })), todayMwh(viewer.getByRole('article', { name: LOAD }))]);
        shown = a;
        return a > 0 && a === b;
      },
      { timeout: 30_000, intervals: [250] },
    )
    .toBe(true);
  return shown;
}

test('a viewer in another browser sees the site’s figures, switches a load, and loses nothing when the broker restarts', async ({ browser }) => {
  test.setTimeout(180_000);
  const siteContext = await browser.newContext();
  const viewerContext = await browser.newContext();
  const site = await siteContext.newPage();
  const viewer = await viewerContext.newPage();

  const code = await siteOnBroker(site);
  await viewerOf(viewer, code);

  // The same meters, by the names the site gave them, with the site's live power and energy.
  const siteNames = await site.getByRole('article').evaluateAll((tiles) => tiles.map((t) => t.getAttribute('aria-label')));
  await expect(viewer.getByRole('article')).toHaveCount(siteNames.length);
  expect(await viewer.getByRole('article').evaluateAll((tiles) => tiles.map((t) => t.getAttribute('aria-label')))).toEqual(siteNames);
  await expect(viewer.getByRole('article', { name: LOAD }).getByTestId('power')).toHaveText(/W$/);
  await sameEnergy(site, viewer);
  await noAxeViolations(viewer, 'the remote view of Now');

  // A switch from the viewer: a signed command the site checks, then the CAN command to the meter.
  const remoteTile = viewer.getByRole('article', { name: LOAD });
  await expect(remoteTile.getByTestId('relay')).toHaveText('Switched on');
  await remoteTile.getByRole('button', { name: 'Switch off' }).click();
  await viewer.getByRole('dialog').getByRole('button', { name: 'Switch off' }).click();
  await expect(viewer.getByRole('dialog')).toBeHidden();
  await expect(site.getByRole('article', { name: LOAD }).getByTestId('relay')).toHaveText('Switched off');
  await expect(remoteTile.getByTestId('relay')).toHaveText('Switched off');

  // The broker goes away: the viewer says so; the site keeps recording.
  await broker.stop();
  await expect(viewer.getByTestId('remote-offline')).toBeVisible({ timeout: 20_000 });
  await expect(viewer.getByRole('region', { name: 'Alarms' })).toContainText('Site offline');
  const before = await todayMwh(site.getByRole('article', { name: LOAD }));
  await site.waitForTimeout(8_000);
  // It comes back empty (no retained messages, no sessions): the site announces itself again and
  // the viewer asks the site for what it missed.
  await broker.restart();
  await expect(viewer.getByTestId('remote-offline')).toBeHidden({ timeout: 30_000 });
  const after = await sameEnergy(site, viewer);
  expect(after).toBeGreaterThanOrEqual(before);

  // The load's page on the viewer: the power profile asked of the site, the energy from the replica.
  await remoteTile.getByRole('link', { name: LOAD }).click();
  await site.getByRole('article', { name: LOAD }).getByRole('link', { name: LOAD }).click();
  for (const page of [viewer, site]) await expect(page.getByRole('heading', { level: 1, name: LOAD })).toBeVisible();
  await expect(viewer.getByRole('region', { name: 'Power profile' }).locator('canvas')).toBeVisible({ timeout: 20_000 });
  // Switched off, the load uses nothing more: the day's energy stands still, and is the same on both.
  await expect.poll(async () => [await site.getByTestId('period-energy').textContent(), await viewer.getByTestId('period-energy').textContent()].every((t, _, all) => t === all[0] && /[1-9]/.test(t ?? '')), { timeout: 20_000 }).toBe(true);

  // Power quality: the voltage over the day, asked of the site.
  await viewer.goto('/#/quality');
  await expect(viewer.getByRole('region', { name: 'Voltage', exact: true }).locator('canvas')).toBeVisible({ timeout: 20_000 });

  // The bill: computed here from the replica's energy and the site's tariff, to the cent the site's.
  for (const page of [viewer, site]) await page.goto('/#/bill');
  await expect
    .poll(async () => {
      const [a, b] = await Promise.all([site.getByTestId('bill-total').getAttribute('data-cents'), viewer.getByTestId('bill-total').getAttribute('data-cents')]);
      return a !== null && a === b;
    }, { timeout: 30_000, intervals: [500] })
    .toBe(true);

  await viewerContext.close();
  await siteContext.close();
});

test('each load’s cost today reaches the broker under today’s date, as its tile shows it', async ({ browser }) => {
  const costs: CostMessage[] = [];
  const sniffer = await connectBroker({ url: broker.url, clientId: 'e2e-cost-sniffer', reconnectMs: 200 });
  sniffer.onMessage((topic, payload) => {
    if (topic.endsWith('/cost')) costs.push(readCost(payload));
  });
  await expect.poll(() => sniffer.status).toBe('connected');
  await sniffer.subscribe('e2e/+/meter/+/cost');
  const context = await browser.newContext();
  const site = await context.newPage();
  await siteOnBroker(site);
  // The demo's tariff runs on this machine's zone, as the browser's does. A new site's first
  // minutes cost next to nothing: the figure compared may be 0 cents, the day and the link are the point.
  const today = localDateOf(Date.now(), Intl.DateTimeFormat().resolvedOptions().timeZone);
  const shown = site.getByRole('article', { name: LOAD }).getByTestId('cost');
  await expect
    .poll(async () => {
      const cents = Number(await shown.getAttribute('data-cents'));
      return Number.isInteger(cents) && costs.some((c) => c.cents === cents && c.day === today && c.currency === 'EUR');
    }, { timeout: 30_000, intervals: [500] })
    .toBe(true);
  expect(costs.every((c) => c.day === today)).toBe(true);
  await context.close();
  await sniffer.close();
});
