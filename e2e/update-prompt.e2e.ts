import { readFileSync, writeFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';

// Deploying a release means new bytes in dist/sw.js; vite preview serves files fresh from disk.
const swFile = new URL('../dist/sw.js', import.meta.url);

test.use({ serviceWorkers: 'allow' });

test('a new version waits for the user, then takes over on "Reload to update"', async ({ page }) => {
  await page.goto('/');
  await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  await expect(page.getByText('Wattwall is installed and works offline.')).toBeVisible();
  // The user comes back another day: now the installed worker controls the page.
  await page.reload();
  expect(await page.evaluate(() => Boolean(navigator.serviceWorker.controller))).toBe(true);

  const released = readFileSync(swFile);
  try {
    writeFileSync(swFile, Buffer.concat([released, Buffer.from('\n// next release\n')]));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await checkPromptAndUpdate(page);
  } finally {
    writeFileSync(swFile, released);
  }
});

async function checkPromptAndUpdate(page: Page): Promise<void> {
  const prompt = page.getByRole('alertdialog');
  await expect(prompt).toContainText('A new version of Wattwall is ready.');
  // Nothing happens by itself: the old worker still controls the page.
  const waiting = await page.evaluate(async () => Boolean((await navigator.serviceWorker.getRegistration())?.waiting));
  expect(waiting).toBe(true);

  const reloaded = page.waitForEvent('load');
  await prompt.getByRole('button', { name: 'Reload to update' }).click();
  await reloaded;
  await expect(page.getByRole('banner')).toContainText('Wattwall');
  const state = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return { waiting: Boolean(registration?.waiting), controlled: Boolean(navigator.serviceWorker.controller) };
  });
  expect(state).toEqual({ waiting: false, controlled: true });
}
