import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Locator, type Page, type Route, test } from '@playwright/test';
import { entsoeA44 } from '../src/lib/tariff/testing';
import type { Draw } from '../src/lib/sim/waveforms';
import { expectedBill as computeExpectedBill, type LedgerSlot } from './expected-bill';
import { installFakeSerial } from './fixtures';

// The bill in the built app, on the fake serial bus: the energy comes from simulated meters
// through the real driver into IndexedDB; every price request is answered by page.route, and
// anything else that would leave the machine is aborted and fails the test.
test.use({ timezoneId: 'Europe/Rome', locale: 'en-GB' });

const SLOT_MS = 900_000;
const kettle: Draw = { power: 5000, powerFactor: 1, harmonics: [] };
const lamp: Draw = { power: 150, powerFactor: 1, harmonics: [] };
const meters = [
  { nodeId: 7, name: 'Kettle', draw: kettle },
  { nodeId: 12, name: 'Lamp', draw: lamp },
];

/** The test's own spot prices, EUR/MWh, by slot: high, so that a minute of energy is worth cents. */
const spotEurPerMwh = (start: number): number => 3000 + ((start / SLOT_MS) % 8) * 125;
const TARIFF = { markup: 0.5, fallback: 4, gridFee: 0.2, excise: 0.1, vatPercent: 10 };

/** Refuses (and counts) every request that is not to the app itself or answered by a test route. */
async function guardNetwork(page: Page): Promise<string[]> {
  const escaped: string[] = [];
  await page.context().route(
    (url) => url.hostname !== 'localhost',
    (route) => {
      escaped.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  return escaped;
}

const CORS = { 'access-control-allow-origin': '*' };

/** Energy-Charts as documented: the requested range's 15-minute prices, with CORS headers. */
function energyCharts(requests: string[]) {
  return (route: Route) => {
    const url = new URL(route.request().url());
    requests.push(url.toString());
    const from = Date.parse(url.searchParams.get('start') ?? '');
    const to = Date.parse(url.searchParams.get('end') ?? '') + SLOT_MS;
    const unix_seconds: number[] = [];
    const price: number[] = [];
    for (let t = from; t < to; t += SLOT_MS) {
      unix_seconds.push(t / 1000);
      price.push(spotEurPerMwh(t));
    }
    return route.fulfill({ json: { license_info: 'CC BY 4.0', unix_seconds, price, unit: 'EUR / MWh', deprecated: false }, headers: CORS });
  };
}

/** Every slot with energy in the page's history database, and the uid of each node. */
async function stored(page: Page): Promise<{ slots: LedgerSlot[]; uidOf: Map<number, string> }> {
  const { slots, nodes } = await page.evaluate(async () => {
    const name = (await indexedDB.databases()).map((d) => d.name ?? '').find((n) => n.startsWith('wattwall-history-'));
    if (!name) return { slots: [], nodes: [] };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const all = <T,>(store: string) =>
      new Promise<T[]>((resolve, reject) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => resolve(r.result as T[]);
        r.onerror = () => reject(r.error);
      });
    const days = await all<{ uid: string; start: number; importMwh: Float64Array }>('energy');
    const registry = await all<{ uid: string; node: number }>('meters');
    db.close();
    const out: { uid: string; start: number; importMwh: number }[] = [];
    for (const d of days) d.importMwh.forEach((mwh, k) => mwh > 0 && out.push({ uid: d.uid, start: d.start + k * 900_000, importMwh: mwh }));
    return { slots: out, nodes: registry.map((m) => [m.node, m.uid] as [number, string]) };
  });
  return { slots, uidOf: new Map(nodes) };
}

/** The bill as the test computes it, for this file's tariff and prices. */
const expectedBill = (slots: readonly LedgerSlot[], spot: (start: number) => number | undefined) =>
  computeExpectedBill(slots, (start) => {
    const perMwh = spot(start);
    return perMwh === undefined ? undefined : perMwh / 1000;
  }, TARIFF);

const euro = (cents: number) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(cents / 100);
const decimal = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;
const cents = async (locator: Locator) => Number(await locator.getAttribute('data-cents'));

async function connect(page: Page): Promise<void> {
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
}

/** Fills the tariff form the way a user would: spot price plus a spread, fees, excise, VAT, a price source. */
async function setDynamicTariff(page: Page, source: (group: Locator) => Promise<void>): Promise<void> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  const form = page.getByRole('form', { name: 'Tariff and prices' });
  const energy = form.getByRole('group', { name: 'Energy', exact: true });
  await energy.getByLabel('Kind').selectOption({ label: 'Market price plus a spread' });
  await energy.getByLabel('Spread over the market price').fill(String(TARIFF.markup));
  await energy.getByRole('combobox', { name: /^Fallback/ }).selectOption({ label: 'One price' });
  await energy.getByLabel('Fallback energy price').fill(String(TARIFF.fallback));
  const grid = form.getByRole('group', { name: 'Grid fees' });
  await grid.getByLabel('Kind').selectOption({ label: 'One price' });
  await grid.getByLabel(/^Grid fee/).fill(String(TARIFF.gridFee));
  const taxes = form.getByRole('group', { name: 'Taxes and fixed charges' });
  await taxes.getByLabel(/^Excise/).fill(String(TARIFF.excise));
  await taxes.getByLabel(/^VAT/).fill(String(TARIFF.vatPercent));
  await taxes.getByLabel(/^Fixed charges/).fill('0');
  await source(form.getByRole('group', { name: 'Market prices' }));
  await form.getByRole('button', { name: 'Save the tariff' }).click();
  await expect(form.getByRole('status')).toHaveText('Tariff saved: costs and bills now use it.');
}

const energyChartsSource = (zone: string) => async (group: Locator) => {
  await group.getByLabel('Price source').selectOption({ label: 'Energy-Charts' });
  await group.getByLabel('Bidding zone').selectOption(zone);
};

/** Lets the kettle run until the ledger holds some energy, then pulls the adapter: the energy stays put. */
async function recordEnergy(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Now', exact: true }).click();
  await expect.poll(async () => (await stored(page)).slots.reduce((s, r) => s + r.importMwh, 0), { timeout: 45_000 }).toBeGreaterThan(30_000);
  await page.evaluate(() => window.__fakeSerial?.unplug());
  await expect(page.getByTestId('link-status')).toHaveText(/is unplugged: it reconnects when plugged back in/);
}

/** Waits until the Bill screen shows the total the test computes from what is stored. */
async function billMatches(page: Page, spot: (start: number) => number | undefined) {
  let expected: ReturnType<typeof expectedBill> | undefined;
  await expect
    .poll(
      async () => {
        const { slots } = await stored(page);
        expected = expectedBill(slots, spot);
        const shown = await cents(page.getByTestId('bill-total'));
        return shown === expected.total ? 'same' : `shown ${shown}, computed ${expected.total}`;
      },
      { timeout: 30_000 },
    )
    .toBe('same');
  if (!expected) throw new Error('no bill');
  return expected;
}

async function priceSlotsStored(page: Page): Promise<number> {
  return page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === 'wattwall-prices')) return 0;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('wattwall-prices');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const n = await new Promise<number>((resolve, reject) => {
      const r = db.transaction('slots').objectStore('slots').count();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    db.close();
    return n;
  });
}

test('prices arrive, and the bill, the loads, the tiles and the CSV match the test’s own figures', async ({ page }) => {
  test.setTimeout(150_000);
  const escaped = await guardNetwork(page);
  const requests: string[] = [];
  await page.route('https://api.energy-charts.info/**', energyCharts(requests));
  await connect(page);
  await setDynamicTariff(page, energyChartsSource('IT-North'));
  await expect(page.getByTestId('price-status')).toContainText(/^Prices from Energy-Charts \(IT-North\), known until/);
  expect(requests.length).toBeGreaterThan(0);
  expect(new URL(requests[0] ?? '').searchParams.get('bzn')).toBe('IT-North');

  await recordEnergy(page);
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Bill lines' })).toBeVisible();
  const bill = await billMatches(page, spotEurPerMwh);
  expect(bill.total).toBeGreaterThan(10);

  // Each line, the total's text, and each load's cost, to the cent.
  const lines = page.getByTestId('bill-lines');
  expect(await cents(lines.locator('tr[data-kind="energy"] [data-testid="line-amount"]'))).toBe(bill.lines.energy);
  expect(await cents(lines.locator('tr[data-kind="grid-fee"] [data-testid="line-amount"]'))).toBe(bill.lines.grid);
  expect(await cents(lines.locator('tr[data-kind="excise"] [data-testid="line-amount"]'))).toBe(bill.lines.excise);
  expect(await cents(lines.locator('tr[data-kind="vat"] [data-testid="line-amount"]'))).toBe(bill.vat);
  await expect(lines.locator('tr[data-kind="vat"] th')).toHaveText('VAT 10 %');
  await expect(page.getByTestId('bill-total')).toHaveText(euro(bill.total));
  await expect(page.getByTestId('price-fallback')).toHaveCount(0);
  await expect(page.getByTestId('bill-fallback')).toHaveCount(0);
  const { uidOf } = await stored(page);
  const kettleUid = uidOf.get(7) ?? '';
  const kettleCost = bill.byMeter.get(kettleUid) ?? -1;
  expect(await cents(page.locator(`tr[data-centre="${kettleUid}"] [data-testid="centre-cost"]`))).toBe(kettleCost);
  expect(await cents(page.locator(`tr[data-centre="${uidOf.get(12)}"] [data-testid="centre-cost"]`))).toBe(bill.byMeter.get(uidOf.get(12) ?? ''));

  // The CSV of the lines, as downloaded.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download the bill lines (CSV)' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^wattwall-bill-\d{4}-\d{2}-lines\.csv$/);
  const csv = readFileSync((await download.path()) as string, 'utf8').split('\r\n').filter(Boolean);
  expect(csv[0]).toBe('kind,label,band,month,quantity_kwh,rate_per_kwh,amount,currency');
  const row = (kind: string) => csv.find((l) => l.startsWith(`${kind},`))?.split(',') ?? [];
  expect(row('energy')[6]).toBe(decimal(bill.lines.energy));
  expect(row('vat')[6]).toBe(decimal(bill.vat));
  expect(row('total')[6]).toBe(decimal(bill.total));
  expect(Number(row('energy')[4]) * 1e6).toBeCloseTo(bill.importMwh, 0);

  // Quarter-hour by quarter-hour, each load's cost to a millionth of a euro.
  const slotsDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download every quarter-hour (CSV)' }).click();
  const slotRows = readFileSync((await (await slotsDownload).path()) as string, 'utf8').split('\r\n').filter(Boolean);
  const header = slotRows[0]?.split(',') ?? [];
  let checked = 0;
  for (const line of slotRows.slice(1)) {
    const f = line.split(',');
    const uid = f[header.indexOf('meter')] ?? '';
    const key = `${Date.parse(f[0] ?? '')}|${uid}`;
    if (!bill.slotCost.has(key)) continue;
    expect(Math.round(Number(f[header.indexOf('cost')]) * 1e6), key).toBe(Number(bill.slotCost.get(key)));
    checked++;
  }
  expect(checked).toBe(bill.slotCost.size);

  // The kettle's tile: today's cost is the same share of the bill.
  await page.getByRole('link', { name: 'Now', exact: true }).click();
  await expect.poll(() => cents(page.locator('article[data-node="7"]').getByTestId('cost')), { timeout: 15_000 }).toBe(kettleCost);
  // And so is the period cost on its detail screen (today is in this month).
  await page.locator('article[data-node="7"]').getByRole('link').click();
  await page.getByRole('button', { name: 'Month' }).click();
  await expect.poll(() => cents(page.getByTestId('period-cost')), { timeout: 15_000 }).toBe(kettleCost);

  expect(escaped).toEqual([]);
});

test('with the provider down the bill is priced at the tariff’s fallback, and says so', async ({ page }) => {
  test.setTimeout(150_000);
  const escaped = await guardNetwork(page);
  let mode: 'http-500' | 'network' = 'http-500';
  await page.route('https://api.energy-charts.info/**', (route) =>
    mode === 'http-500' ? route.fulfill({ status: 500, json: { detail: 'Internal Server Error' }, headers: CORS }) : route.abort('internetdisconnected'),
  );
  await connect(page);
  await setDynamicTariff(page, energyChartsSource('IT-North'));
  const status = page.getByTestId('price-status');
  await expect(status).toContainText('Energy-Charts (IT-North) answered with an error.');
  await expect(page.getByTestId('price-fallback')).toHaveText('Costs use the tariff’s fallback prices until market prices are known.');
  await status.getByText('Details').click();
  await expect(page.getByTestId('price-error')).toContainText('HTTP 500');

  await recordEnergy(page);
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  const bill = await billMatches(page, () => undefined);
  expect(bill.total).toBeGreaterThan(10);
  await expect(page.getByTestId('bill-fallback')).toContainText('priced at the tariff’s fallback');
  await expect(page.getByTestId('bill-price-problem')).toContainText('HTTP 500');
  await expect(page.getByTestId('price-fallback')).toBeVisible();

  // No answer at all (the network is down): another zone starts the service again.
  mode = 'network';
  await setDynamicTariff(page, energyChartsSource('IT-South'));
  await expect(page.getByTestId('price-status')).toContainText('Energy-Charts (IT-South) cannot be reached.');
  await expect(page.getByTestId('price-fallback')).toBeVisible();
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  await expect.poll(() => cents(page.getByTestId('bill-total')), { timeout: 20_000 }).toBe(bill.total);
  expect(await priceSlotsStored(page)).toBe(0);
  expect(escaped).toEqual([]);
});

test('ENTSO-E refused by CORS says so with the proxy hint, and works through a proxy', async ({ page }) => {
  test.setTimeout(120_000);
  const escaped = await guardNetwork(page);
  // The server answers, but not for this page's origin: the browser withholds the answer, as it
  // does with ENTSO-E's real API. (route.fulfill would add an allow-all header if none were given.)
  await page.route('https://web-api.tp.entsoe.eu/**', (route) =>
    route.fulfill({ status: 200, contentType: 'application/xml', body: '<Publication_MarketDocument/>', headers: { 'access-control-allow-origin': 'https://transparency.entsoe.eu' } }),
  );
  const proxied: string[] = [];
  await page.route('http://localhost:8080/entsoe**', (route) => {
    const url = new URL(route.request().url());
    proxied.push(url.toString());
    const p = url.searchParams;
    const utc = (s: string) => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)), Number(s.slice(8, 10)), Number(s.slice(10, 12)));
    const from = utc(p.get('periodStart') ?? '');
    const to = utc(p.get('periodEnd') ?? '');
    const prices = Array.from({ length: (to - from) / SLOT_MS }, (_, i) => spotEurPerMwh(from + i * SLOT_MS));
    return route.fulfill({ status: 200, contentType: 'application/xml', body: entsoeA44(from, 'PT15M', prices, 'A01', p.get('in_Domain') ?? ''), headers: CORS });
  });
  await connect(page);
  const entsoe = (proxy: string) => async (group: Locator) => {
    await group.getByLabel('Price source').selectOption({ label: 'ENTSO-E' });
    await group.getByLabel('Security token').fill('test-token');
    await group.getByLabel('Bidding zone').selectOption({ label: 'IT-North' });
    await group.getByLabel('Proxy URL').fill(proxy);
  };
  await setDynamicTariff(page, entsoe(''));
  const status = page.getByTestId('price-status');
  await expect(status).toContainText('The browser refused ENTSO-E (IT-North)’s answer: its server does not allow calls from web pages (CORS).');
  await expect(page.getByTestId('price-cors-hint')).toContainText('set a proxy URL in the price settings');
  await expect(page.getByTestId('price-cors-hint')).toContainText('Energy-Charts');
  await expect(page.getByTestId('price-fallback')).toBeVisible();
  expect(proxied).toEqual([]);

  await setDynamicTariff(page, entsoe('http://localhost:8080/entsoe'));
  await expect(status).toContainText(/^Prices from ENTSO-E \(IT-North\), known until/);
  const url = new URL(proxied[0] ?? '');
  expect(url.searchParams.get('securityToken')).toBe('test-token');
  expect(url.searchParams.get('documentType')).toBe('A44');
  await expect(page.getByTestId('price-fallback')).toHaveCount(0);
  expect(await priceSlotsStored(page)).toBeGreaterThan(0);
  expect(escaped).toEqual([]);
});

test('malformed price answers are refused with a clear message and nothing is stored', async ({ page }) => {
  test.setTimeout(120_000);
  const escaped = await guardNetwork(page);
  let body: unknown = { unix_seconds: [1760400000, 1760400900, 1760401800], price: [100, 101], unit: 'EUR / MWh' };
  await page.route('https://api.energy-charts.info/**', (route) => route.fulfill({ json: body, headers: CORS }));
  await connect(page);
  await setDynamicTariff(page, energyChartsSource('IT-North'));
  const status = page.getByTestId('price-status');
  await expect(status).toContainText('Energy-Charts (IT-North) sent prices that cannot be read. Nothing from that answer was stored.');
  await status.getByText('Details').click();
  await expect(page.getByTestId('price-error')).toHaveText('Energy-Charts sent an answer that cannot be read: 3 timestamps but 2 prices. Nothing from it was stored.');
  await expect(page.getByTestId('price-fallback')).toBeVisible();

  // Prices a thousand times too high (a unit mistake) are refused just the same.
  const now = Math.floor(Date.now() / SLOT_MS) * SLOT_MS;
  body = { unix_seconds: [now / 1000, (now + SLOT_MS) / 1000], price: [120, 3_500_000], unit: 'EUR / MWh' };
  await setDynamicTariff(page, energyChartsSource('IT-Centre-North'));
  await expect(page.getByTestId('price-error')).toContainText('per kWh) is implausible; check the unit');
  await expect(status).toContainText('Nothing from that answer was stored.');
  // The one good price of that answer was not kept either: an answer is stored whole or not at all.
  expect(await priceSlotsStored(page)).toBe(0);

  // Not JSON at all.
  body = undefined;
  await page.unroute('https://api.energy-charts.info/**');
  await page.route('https://api.energy-charts.info/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<html>Maintenance</html>', headers: CORS }));
  await setDynamicTariff(page, energyChartsSource('IT-South'));
  await expect(page.getByTestId('price-error')).toHaveText('Energy-Charts sent an answer that cannot be read: the body is not JSON. Nothing from it was stored.');
  expect(await priceSlotsStored(page)).toBe(0);

  // The bill still works, from the tariff.
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  await expect(page.getByTestId('bill-total')).toBeVisible();
  expect(escaped).toEqual([]);
});

test('the Bill screen has no accessibility violations, in light and dark, in English and Italian', async ({ page }) => {
  test.setTimeout(150_000);
  const escaped = await guardNetwork(page);
  await page.route('https://api.energy-charts.info/**', energyCharts([]));
  await connect(page);
  // An F1/F2/F3 tariff on spot prices: every part of the screen shows (bands, per-band costs).
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  const form = page.getByRole('form', { name: 'Tariff and prices' });
  await form.getByLabel('An example tariff').selectOption({ label: 'Italian household, spot-indexed (PUN or zonal price)' });
  await form.getByRole('button', { name: 'Fill in the form' }).click();
  await energyChartsSource('IT-North')(form.getByRole('group', { name: 'Market prices' }));
  await form.getByRole('button', { name: 'Save the tariff' }).click();
  await expect(form.getByRole('status')).toHaveText('Tariff saved: costs and bills now use it.');
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

  await page.getByRole('link', { name: 'Now', exact: true }).click();
  await expect.poll(async () => (await stored(page)).slots.length, { timeout: 30_000 }).toBeGreaterThan(0);
  await page.getByRole('link', { name: 'Bill', exact: true }).click();
  await expect(page.getByTestId('band-costs')).toBeVisible();
  await expect(page.getByTestId('load-costs').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('bill-lines').locator('tr[data-kind="energy"]')).toHaveCount(1);
  await expect(page.getByTestId('bill-lines').locator('tr[data-kind="fixed-fee"] th')).toHaveText(/^Fixed charges, \w+ \d{4} \(so far\)$/);
  await expect(page.locator('canvas')).toHaveCount(2);
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((t) => {
      localStorage.setItem('wattwall.theme', t);
      document.documentElement.dataset.theme = t;
    }, theme);
    const result = await new AxeBuilder({ page }).analyze();
    expect(result.violations, `${theme} theme`).toEqual([]);
  }
  // Every touch target of the screen is at least 48 px high.
  const small = await page.locator('main button, main select, main summary, main a').evaluateAll((els) =>
    els.filter((e) => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().height < 47.5).map((e) => e.outerHTML.slice(0, 80)),
  );
  expect(small).toEqual([]);

  // In Italian.
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByLabel('Language').selectOption('it');
  await page.getByRole('link', { name: 'Bolletta', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Voci della bolletta' })).toBeVisible();
  await expect(page.getByTestId('price-status')).toContainText('Prezzi da Energy-Charts (IT-North), noti fino a');
  await expect(page.getByTestId('bill-lines').locator('tr[data-kind="vat"] th')).toHaveText('IVA 10 %');
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  expect(escaped).toEqual([]);
});
