import { expect, test } from '@playwright/test';

test.use({ serviceWorkers: 'allow' });

test('after a first visit the app shell opens with the network off', async ({ page, context, baseURL }) => {
  await page.goto('/');
  await expect(page.getByRole('banner')).toContainText('Wattwall');
  // The service worker has installed once it is active: the precache is complete by then.
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  expect(scope).toBe(new URL('/', baseURL).href);

  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('banner')).toContainText('Wattwall');
  // The meter core is precached too: the demo bus runs offline.
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);
  await expect(page.locator('article[data-node]').first()).toBeVisible();
  expect(await page.evaluate(() => navigator.onLine)).toBe(false);
});
