import { expect, test } from '@playwright/test';
import { activePower, EUROPEAN_SUPPLY, type Draw, waveformOf } from '../src/lib/sim/waveforms';
import { installFakeSerial, shownWatts } from './fixtures';

// Two meters with loads the test defines itself: a kettle drawing, and a PV inverter feeding back
// a distorted current. The expected powers come from the waveforms, not from the app.
const kettle: Draw = { power: 2000, powerFactor: 1, harmonics: [] };
const inverter: Draw = {
  power: -1500,
  powerFactor: 0.97,
  harmonics: [
    { order: 3, ratio: 0.04, phase: 0.3 },
    { order: 5, ratio: 0.03, phase: 2.1 },
  ],
};
const meters = [
  { nodeId: 7, name: 'Kettle', draw: kettle },
  { nodeId: 12, name: 'PV inverter', draw: inverter },
];

test('live power of two meters arrives through the Web Serial slcan driver', async ({ page }) => {
  await installFakeSerial(page, { bitrate: 125_000, meters });
  await page.goto('/');

  // With no adapter chosen, the app shows the demo bus.
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);

  await page.getByRole('button', { name: 'Connect USB adapter' }).click();
  await page.getByRole('button', { name: 'slcan adapter (Web Serial)' }).click();
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  expect(await page.evaluate(() => window.__fakeSerial?.requests)).toBe(1);

  for (const meter of meters) {
    const expected = activePower(waveformOf(EUROPEAN_SUPPLY, meter.draw));
    const tile = page.locator(`article[data-node="${meter.nodeId}"]`);
    await expect(tile).toBeVisible();
    await expect(tile.getByRole('heading')).toHaveText(`Meter ${meter.nodeId}`);
    const watts = await shownWatts(tile);
    expect(Math.abs(watts - expected) / Math.abs(expected), `meter ${meter.nodeId}: shows ${watts} W, fed ${expected.toFixed(1)} W`).toBeLessThan(0.01);
  }
  // Only the two meters on this bus answer; the demo household is gone.
  await expect(page.locator('article[data-node]')).toHaveCount(2);

  // The tile is live: it is refreshed by each one-second poll.
  const tile = page.locator('article[data-node="7"]');
  const first = Number(await tile.getAttribute('data-updated'));
  await expect.poll(async () => Number(await tile.getAttribute('data-updated')), { timeout: 5000 }).toBeGreaterThan(first);
  const second = Number(await tile.getAttribute('data-updated'));
  expect(second - first).toBeGreaterThan(500);
  expect(second - first).toBeLessThan(2500);

  // Pulling the adapter shows at once, and the last readings stop passing for live ones.
  await page.evaluate(() => window.__fakeSerial?.unplug());
  await expect(page.getByTestId('link-status')).toHaveText('CANable 2.0 Nakakiyo slcan is unplugged: it reconnects when plugged back in');
  await expect(tile.getByText('No answer')).toBeVisible();
});

test('an adapter granted on an earlier visit reopens without a click', async ({ page }) => {
  await installFakeSerial(page, { bitrate: 125_000, meters, granted: true });
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText('Connected: CANable 2.0 Nakakiyo slcan');
  await expect(page.locator('article[data-node]')).toHaveCount(2);
  expect(await page.evaluate(() => window.__fakeSerial?.requests)).toBe(0);
});
