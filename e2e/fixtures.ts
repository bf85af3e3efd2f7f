/** Shared helpers for the end-to-end tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Locator, type Page } from '@playwright/test';
import type { FakeAdapterConfig } from './harness/fake-adapters';
import { toHex } from '../src/lib/meter/keys';
import { TEST_SITE_KEY } from '../src/lib/sim/testing/sim-rig';

/** The e2e site's key: the simulated test buses' one, not the demo key, so the two never mix. */
export const TEST_SITE_KEY_HEX = toHex(TEST_SITE_KEY);

const wasmPath = fileURLToPath(new URL('../firmware/build/wasm/meter.wasm', import.meta.url));
const harnessPath = fileURLToPath(new URL('./.build/fake-adapters.js', import.meta.url));

export interface FakeAdapterOptions {
  /** Give the app the site key the meters were provisioned with (default), as its own. */
  readonly giveSiteKey?: boolean;
  /** What the app remembers of its adapter from an earlier visit (localStorage `wattwall.adapter`). */
  readonly remembered?: object;
}

/**
 * Installs the fake navigator.serial and navigator.usb (an emulated adapter on a virtual bus of
 * simulated meters) before the app loads.
 */
export async function installFakeAdapter(page: Page, config: Omit<FakeAdapterConfig, 'wasmBase64' | 'siteKeyHex'>, options: FakeAdapterOptions = {}): Promise<void> {
  const full: FakeAdapterConfig = { ...config, siteKeyHex: TEST_SITE_KEY_HEX, wasmBase64: readFileSync(wasmPath).toString('base64') };
  await page.addInitScript(
    ({ c, giveSiteKey, remembered }) => {
      window.__fakeAdapterConfig = c;
      // The installation's site key, as the meters on this bus were provisioned with it.
      if (giveSiteKey) localStorage.setItem('wattwall.site-key', c.siteKeyHex);
      if (remembered) localStorage.setItem('wattwall.adapter', JSON.stringify(remembered));
    },
    { c: full, giveSiteKey: options.giveSiteKey ?? true, remembered: options.remembered },
  );
  await page.addInitScript({ path: harnessPath });
}

/** The slcan adapter as a serial port (the fixture of the first end-to-end tests). */
export async function installFakeSerial(page: Page, config: Omit<FakeAdapterConfig, 'wasmBase64' | 'siteKeyHex' | 'adapter'>, options: FakeAdapterOptions = {}): Promise<void> {
  await installFakeAdapter(page, { ...config, adapter: 'slcan-serial' }, options);
}

/** The number a power tile shows, in watts ("2,000 W", "-1,500 W", "12.3 kW"). */
export async function shownWatts(tile: Locator): Promise<number> {
  const text = (await tile.getByTestId('power').textContent()) ?? '';
  const match = /^(-?[\d,.]+)\s*(k?W)$/.exec(text.trim().replace('\u2212', '-'));
  if (!match?.[1]) throw new Error(`tile shows no power: "${text}"`);
  const value = Number(match[1].replace(/,/g, ''));
  return match[2] === 'kW' ? value * 1000 : value;
}

/** axe-core over the page (WCAG 2.1 A and AA): no violations, or the list of them. */
export async function noAxeViolations(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const summary = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  expect(summary, `axe on ${what}`).toEqual([]);
}
