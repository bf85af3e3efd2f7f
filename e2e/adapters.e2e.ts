import { expect, type Page, test } from '@playwright/test';
import { activePower, EUROPEAN_SUPPLY, type Draw, waveformOf } from '../src/lib/sim/waveforms';
import type { FakeAdapterKind } from './harness/fake-adapters';
import { installFakeAdapter, noAxeViolations, shownWatts } from './fixtures';

const heater: Draw = { power: 1800, powerFactor: 1, harmonics: [] };
const pv: Draw = { power: -900, powerFactor: 0.98, harmonics: [{ order: 3, ratio: 0.03, phase: 0.4 }] };
const meters = [
  { nodeId: 3, name: 'Heater', draw: heater },
  { nodeId: 21, name: 'PV', draw: pv },
];

const drivers: { kind: FakeAdapterKind; button: string; label: string }[] = [
  { kind: 'slcan-serial', button: 'slcan adapter (Web Serial)', label: 'CANable 2.0 Nakakiyo slcan' },
  { kind: 'slcan-usb', button: 'slcan adapter (WebUSB)', label: 'CANable 2.0 Nakakiyo slcan' },
  { kind: 'gs-usb', button: 'candleLight / gs_usb (WebUSB)', label: 'candleLight USB to CAN adapter (bytewerk), gs_usb' },
];

const status = (page: Page) => page.getByTestId('link-status');
const tile = (page: Page, node: number) => page.locator(`article[data-node="${node}"]`);

async function expectMetersLive(page: Page): Promise<void> {
  for (const meter of meters) {
    const expected = activePower(waveformOf(EUROPEAN_SUPPLY, meter.draw));
    await expect(tile(page, meter.nodeId)).toBeVisible();
    await expect(tile(page, meter.nodeId).getByText('No answer')).toHaveCount(0);
    const watts = await shownWatts(tile(page, meter.nodeId));
    expect(Math.abs(watts - expected) / Math.abs(expected), `meter ${meter.nodeId}: ${watts} W shown, ${expected.toFixed(1)} W fed`).toBeLessThan(0.01);
  }
}

async function updatedAt(page: Page, node: number): Promise<number> {
  return Number(await tile(page, node).getAttribute('data-updated'));
}

for (const driver of drivers) {
  test(`${driver.kind}: connect, poll the meters, unplug, replug, carry on without a click`, async ({ page }) => {
    await installFakeAdapter(page, { adapter: driver.kind, bitrate: 125_000, meters });
    await page.goto('/');
    await expect(status(page)).toHaveText(/Connected: Demo bus/);

    await page.getByRole('button', { name: 'Connect USB adapter' }).click();
    await page.getByRole('button', { name: driver.button }).click();
    await expect(status(page)).toHaveText(`Connected: ${driver.label}`);
    await expectMetersLive(page);
    await expect(page.locator('article[data-node]')).toHaveCount(2);

    // Pulled out in the middle of the traffic: the screen says so at once, readings stop passing for live.
    await page.evaluate(() => window.__fakeAdapter?.unplug());
    await expect(status(page)).toHaveText(`${driver.label} is unplugged: it reconnects when plugged back in`);
    await expect(tile(page, 3).getByText('No answer')).toBeVisible();
    if (driver.kind === 'gs-usb') await noAxeViolations(page, 'an unplugged adapter');
    const before = await updatedAt(page, 3);

    // Plugged back in: no click, no picker; polling carries on and the tiles are live again.
    await page.evaluate(() => window.__fakeAdapter?.replug());
    await expect(status(page)).toHaveText(`Connected: ${driver.label}`);
    await expect.poll(() => updatedAt(page, 3), { timeout: 5000 }).toBeGreaterThan(before);
    await expectMetersLive(page);
    expect(await page.evaluate(() => window.__fakeAdapter?.requests)).toBe(1);
  });
}

test('a remembered gs_usb adapter plugged in while the demo bus runs takes over without a click', async ({ page }) => {
  await installFakeAdapter(page, { adapter: 'gs-usb', bitrate: 125_000, meters, granted: true, unpluggedAtStart: true }, {
    remembered: { kind: 'gs-usb', vendorId: 0x1d50, productId: 0x606f, serialNumber: '003A00245734570920383739', label: 'candleLight USB to CAN adapter (bytewerk)' },
  });
  await page.goto('/');
  await expect(status(page)).toHaveText(/Connected: Demo bus/);
  await page.evaluate(() => window.__fakeAdapter?.replug());
  await expect(status(page)).toHaveText('Connected: candleLight USB to CAN adapter (bytewerk), gs_usb');
  await expectMetersLive(page);
  expect(await page.evaluate(() => window.__fakeAdapter?.requests)).toBe(0);
});

test('a remembered slcan adapter over WebUSB reopens at start without a click', async ({ page }) => {
  await installFakeAdapter(page, { adapter: 'slcan-usb', bitrate: 125_000, meters, granted: true }, {
    remembered: { kind: 'slcan-usb', vendorId: 0x16d0, productId: 0x117e, serialNumber: '2050365B4E43', label: 'CANable2 slcan (Openlight Labs)' },
  });
  await page.goto('/');
  await expect(status(page)).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  await expectMetersLive(page);
  expect(await page.evaluate(() => window.__fakeAdapter?.requests)).toBe(0);
});

test('a browser without Web Serial or WebUSB gets a plain explanation, and the demo bus works', async ({ page }) => {
  await installFakeAdapter(page, { bitrate: 125_000, meters, noSerial: true, noUsb: true });
  await page.goto('/');
  await expect(status(page)).toHaveText(/Connected: Demo bus/);
  await expect(page.locator('article[data-node]').first()).toBeVisible();
  await page.getByRole('button', { name: 'Connect USB adapter' }).click();
  await expect(page.getByTestId('support-explanation')).toHaveText(/cannot talk to USB adapters: it has neither Web Serial nor WebUSB.*The demo bus works here/);
  for (const driver of drivers) await expect(page.getByRole('button', { name: driver.button })).toBeDisabled();
  await expect(page.getByText('This browser has no Web Serial.')).toBeVisible();
  await noAxeViolations(page, 'the picker in a browser without USB');
  await expect(status(page)).toHaveText(/Connected: Demo bus/);
});

test('an Android-like browser (WebUSB, no Web Serial) is told why, and connects a gs_usb adapter', async ({ page }) => {
  await installFakeAdapter(page, { adapter: 'gs-usb', bitrate: 125_000, meters, noSerial: true });
  await page.goto('/');
  await page.getByRole('button', { name: 'Connect USB adapter' }).click();
  await expect(page.getByTestId('support-explanation')).toHaveText(/Web Serial is not available in this browser/);
  await expect(page.getByRole('button', { name: 'slcan adapter (Web Serial)' })).toBeDisabled();
  await page.getByRole('button', { name: 'candleLight / gs_usb (WebUSB)' }).click();
  await expect(status(page)).toHaveText('Connected: candleLight USB to CAN adapter (bytewerk), gs_usb');
  await expectMetersLive(page);
});
