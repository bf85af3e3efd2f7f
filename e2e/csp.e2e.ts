import { expect, type Page, test } from '@playwright/test';
import { cspText } from '../scripts/csp';

// The built app under its own Content Security Policy (scripts/csp.ts, docs/audits.md): every
// screen, the charts, the demo bus (WebAssembly meters) and the service worker run without a
// single violation. The service worker is allowed here, so its registration runs under the policy.
test.use({ serviceWorkers: 'allow' });

declare global {
  interface Window {
    __cspViolations?: string[];
  }
}

/** Violations the page reported so far, and console lines about the policy. */
async function violations(page: Page, consoleLines: readonly string[]): Promise<string[]> {
  const events = await page.evaluate(() => window.__cspViolations ?? []);
  return [...events, ...consoleLines.map((l) => `console: ${l}`)];
}

test('the built app runs every screen on the demo bus with no Content Security Policy violation', async ({ page }) => {
  test.setTimeout(120_000);
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|compile|create|evaluate)/i.test(m.text())) consoleLines.push(m.text());
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations?.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`));
  });

  await page.goto('/');
  // The policy is the one scripts/csp.ts states, delivered in the page itself.
  expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe(cspText());
  await expect(page.getByTestId('link-status')).toHaveText(/Connected: Demo bus/);
  await expect(page.locator('article[data-node]').first()).toBeVisible();
  await expect.poll(() => page.evaluate(async () => Boolean(await navigator.serviceWorker.getRegistration())), { timeout: 20_000 }).toBe(true);

  for (const screen of ['Energy', 'Quality', 'Bill', 'Monitor', 'Settings', 'Now']) {
    await page.getByRole('navigation').getByRole('link', { name: screen }).click();
    await expect(page).toHaveURL(new RegExp(`#/${screen.toLowerCase()}$`));
    // Let the screen's charts draw and the bus deliver a few readings into it.
    await page.waitForTimeout(1_500);
    expect(await violations(page, consoleLines), `on ${screen}`).toEqual([]);
  }

  // A load's page: power, energy and quality charts for a day, a month and a year.
  await page.locator('article[data-node] h3 a, article[data-node] a[href^="#/load/"]').first().click();
  await expect(page).toHaveURL(/#\/load\/[0-9a-f]{24}$/);
  for (const span of ['Day', 'Month', 'Year']) {
    await page.getByRole('group').getByRole('button', { name: span, exact: true }).click();
    await expect(page.getByRole('group').getByRole('button', { name: span, exact: true })).toHaveAttribute('aria-pressed', 'true');
    await page.waitForTimeout(1_000);
  }
  expect(await violations(page, consoleLines), 'on a load’s page').toEqual([]);

  // The watch works: an inline script is refused and reported (so the empty lists above mean something).
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
  });
  await expect.poll(() => page.evaluate(() => window.__cspViolations?.length ?? 0)).toBe(1);
  expect(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan)).toBeUndefined();
});
