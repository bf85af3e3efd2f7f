import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { type CandumpEntry, formatCandump, parseCandump } from '../src/lib/can/candump';
import { CanError } from '../src/lib/can/error-frame';
import { canId, FunctionCode } from '../src/lib/meter/ids';
import { requestFrame } from '../src/lib/meter/link';
import { encodeSnapshot } from '../src/lib/meter/records';
import { sealFrames } from '../src/lib/meter/secure';
import type { Draw } from '../src/lib/sim/waveforms';
import { installFakeAdapter, noAxeViolations } from './fixtures';

const kettle: Draw = { power: 2000, powerFactor: 1, harmonics: [] };
const meters = [{ nodeId: 7, name: 'Kettle', draw: kettle }];

const percentOf = async (page: Page, testId: string) => Number(((await page.getByTestId(testId).textContent()) ?? '').replace('%', '').trim());

async function connectGsUsb(page: Page): Promise<void> {
  await installFakeAdapter(page, { adapter: 'gs-usb', bitrate: 125_000, meters });
  await page.goto('/');
  await page.getByRole('button', { name: 'Connect USB adapter' }).click();
  await page.getByRole('button', { name: 'candleLight / gs_usb (WebUSB)' }).click();
  await expect(page.getByTestId('link-status')).toHaveText(/^Connected: candleLight/);
  await page.getByRole('link', { name: 'Bus monitor' }).click();
}

test('the bus monitor shows live traffic decoded, the bus load, the state and the error counters', async ({ page }) => {
  await connectGsUsb(page);
  const monitor = page.getByRole('region', { name: 'Bus monitor' });
  await expect(monitor).toBeVisible();
  // Requests out, six-frame SNAPSHOTs back, decoded as the protocol has them.
  await expect(monitor.getByText('SNAPSHOT request to meter 7').first()).toBeVisible();
  await expect(monitor.getByText(/^SNAPSHOT from meter 7, frame 6\/6/).first()).toBeVisible();
  await expect(monitor.getByText(/^2000\.\d W, 230\.\d\d V, 8\.\d{3} A, PF 1\.000/).first()).toBeVisible();
  await expect(page.getByTestId('bus-state')).toHaveText('error-active');
  // One meter polled once a second at 125 kbit/s: a small but non-zero load.
  await expect.poll(() => percentOf(page, 'bus-load')).toBeGreaterThan(0.1);
  expect(await percentOf(page, 'bus-load')).toBeLessThan(20);
  const counts = ((await page.getByTestId('frame-counts').textContent()) ?? '').split('/').map((n) => Number(n.trim()));
  expect(counts[0]).toBeGreaterThan(0);
  expect(counts[1]).toBeGreaterThan(0);

  // A noisy cable: transmit errors drive the controller through warning and passive into bus-off;
  // the adapter reports each step in error frames, the driver brings it back.
  await page.evaluate(() => window.__fakeAdapter?.transmitErrors(32, 'bit'));
  await page.getByRole('radio', { name: 'Errors and states' }).check();
  await expect(monitor.getByText(/^bus bus-off/)).toBeVisible();
  await expect(monitor.getByText(/^bus error-passive/)).toBeVisible();
  await expect(page.getByTestId('bus-state')).toHaveText('error-active', { timeout: 5000 });
  await expect(page.getByTestId('bus-errors')).toContainText('bit 32');
  await noAxeViolations(page, 'the bus monitor with errors and states');
  // And the meters are polled again.
  await page.getByRole('radio', { name: 'Wattwall protocol' }).check();
  await expect(monitor.getByText('SNAPSHOT request to meter 7').first()).toBeVisible();
});

test('a capture exported as a candump log, and a field capture imported and examined', async ({ page }, testInfo) => {
  await connectGsUsb(page);
  await expect(page.getByRole('region', { name: 'Bus monitor' }).getByText(/^2000\.\d W/).first()).toBeVisible();

  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export candump log' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^wattwall-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.log$/);
  const path = testInfo.outputPath('export.log');
  await download.saveAs(path);
  const exported = readFileSync(path, 'utf8');
  const log = parseCandump(exported);
  expect(log.problems).toEqual([]);
  expect(log.entries.length).toBeGreaterThan(7);
  expect(exported.split('\n')[0]).toMatch(/^\(\d{10}\.\d{6}\) can0 [0-9A-F]{3}#/);
  expect(log.entries.some((e) => e.kind === 'frame' && e.frame.id === canId(FunctionCode.SNAPSHOT, 7) && e.frame.remote)).toBe(true);

  // A capture from the field: a poll of meter 12, its answer, a bus-off and a line that is not candump.
  const t0 = 1_436_509_052_000_000;
  const snapshot = { timeS: 1_436_509_052, timeCs: 0, flags: 0, vrms: 22_950, irms: 1_000, p: 229_500, n: 0, pf: 10_000, f: 49_990, thdV: 120, thdI: 300 };
  const frames = [requestFrame(FunctionCode.SNAPSHOT, 12), ...sealFrames(new Uint8Array(32), canId(FunctionCode.SNAPSHOT, 12), encodeSnapshot(snapshot), 4242)];
  const entries: CandumpEntry[] = frames.map((frame, i) => ({ kind: 'frame', timeUs: t0 + i * 300, iface: 'can0', frame }));
  entries.push({ kind: 'error', timeUs: t0 + 10_000, iface: 'can0', classes: CanError.BUSOFF | CanError.CNT, raw: Uint8Array.of(0, 0, 0, 0, 0, 0, 255, 0), error: { kinds: [], restarted: false, description: 'bus-off' } });
  const field = `${formatCandump(entries)}this line is not candump\n`;
  await page.getByTestId('candump-file').setInputFiles({ name: 'field.log', mimeType: 'text/plain', buffer: Buffer.from(field) });

  const monitor = page.getByRole('region', { name: 'Bus monitor' });
  await expect(monitor.getByRole('heading', { name: 'Bus monitor: field.log' })).toBeVisible();
  await expect(monitor.getByText(`field.log: ${entries.length} entries, 1 line could not be read`)).toBeVisible();
  await page.getByRole('radio', { name: 'Everything' }).check();
  await expect(monitor.getByText('SNAPSHOT request to meter 12')).toBeVisible();
  await expect(monitor.getByText('229.5 W, 229.50 V, 1.000 A, PF 1.000, 49.990 Hz, relay off (fv 4242, MAC not checked here)')).toBeVisible();
  await expect(page.getByTestId('bus-state')).toHaveText('bus-off');
  await expect(page.getByTestId('frame-counts')).toHaveText(`${frames.length} / 0`);
  await monitor.getByText('1 line could not be read', { exact: true }).click();
  await expect(monitor.getByText(/line 9: not a candump -L line/)).toBeVisible();
  await noAxeViolations(page, 'an imported capture');

  await page.getByRole('button', { name: 'Back to the live bus' }).click();
  await expect(monitor.getByRole('heading', { name: 'Bus monitor' })).toBeVisible();
  await expect(page.getByTestId('bus-state')).toHaveText('error-active');
});

test('the demo bus shows in the monitor too', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);
  await page.getByRole('link', { name: 'Bus monitor' }).click();
  await expect(page.getByRole('region', { name: 'Bus monitor' }).getByText(/^SNAPSHOT request to meter \d+/).first()).toBeVisible();
  await expect.poll(() => percentOf(page, 'bus-load')).toBeGreaterThan(0.1);
});
