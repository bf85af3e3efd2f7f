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

/**
 * The tablet's wall clock, `offsetMs` away from the machine's, before the app loads; the offset can
 * be changed later (`setClockOffset`): the clock steps, as when NTP corrects a wrong clock. Only
 * the wall clock moves (Date): timers and performance.now run on, as they do in a browser.
 */
export async function installClockOffset(page: Page, offsetMs: number): Promise<void> {
  await page.addInitScript((initial) => {
    const RealDate = Date;
    const w = window as unknown as { __clockOffsetMs: number };
    w.__clockOffsetMs = initial;
    const now = () => RealDate.now() + w.__clockOffsetMs;
    class TabletDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(now());
        else super(...(args as [number]));
      }
      static override now(): number {
        return now();
      }
    }
    window.Date = TabletDate as DateConstructor;
  }, offsetMs);
}

export async function setClockOffset(page: Page, offsetMs: number): Promise<void> {
  await page.evaluate((ms) => {
    (window as unknown as { __clockOffsetMs: number }).__clockOffsetMs = ms;
  }, offsetMs);
}

/** What the page's history database holds: energy per meter (mWh, summed over slots), cursors and registry. */
export interface StoredEnergy {
  readonly byNode: Map<number, { uid: string; importMwh: number; exportMwh: number; cursor: { importMwh: number; exportMwh: number; boots: number; at: number } | undefined; gaps: number }>;
}

export async function storedEnergy(page: Page): Promise<StoredEnergy> {
  const rows = await page.evaluate(async () => {
    const name = (await indexedDB.databases()).map((d) => d.name ?? '').find((n) => n.startsWith('wattwall-history-'));
    if (!name) return [];
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
    const [days, meters, cursors, gaps] = await Promise.all([
      all<{ uid: string; importMwh: Float64Array; exportMwh: Float64Array }>('energy'),
      all<{ uid: string; node: number }>('meters'),
      all<{ uid: string; importMwh: number; exportMwh: number; boots: number; at: number }>('cursors'),
      all<{ uid: string }>('gaps'),
    ]);
    db.close();
    return meters.map((m) => {
      let importMwh = 0;
      let exportMwh = 0;
      for (const d of days.filter((x) => x.uid === m.uid)) {
        d.importMwh.forEach((v) => (importMwh += v));
        d.exportMwh.forEach((v) => (exportMwh += v));
      }
      const c = cursors.find((x) => x.uid === m.uid);
      return { node: m.node, uid: m.uid, importMwh, exportMwh, cursor: c ? { importMwh: c.importMwh, exportMwh: c.exportMwh, boots: c.boots, at: c.at } : undefined, gaps: gaps.filter((g) => g.uid === m.uid).length };
    });
  });
  return { byNode: new Map(rows.map(({ node, ...rest }) => [node, rest])) };
}

/**
 * A device whose storage can run out: while `setStorageFull(page, true)`, the browser refuses every
 * write to the app's history database with a QuotaExceededError, as IndexedDB does when the
 * origin's quota is spent. (Chromium's own switch for this, the DevTools protocol's
 * Storage.overrideQuotaForOrigin, is accepted by the headless build here but changes nothing.)
 */
export async function installStorageLimit(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __storageFull: boolean };
    w.__storageFull = false;
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      if (w.__storageFull && args[1] === 'readwrite' && this.name.startsWith('wattwall-history-')) {
        throw new DOMException('The quota for this origin has been exceeded.', 'QuotaExceededError');
      }
      return transaction.apply(this, args);
    } as IDBDatabase['transaction'];
  });
}

export async function setStorageFull(page: Page, full: boolean): Promise<void> {
  await page.evaluate((f) => {
    (window as unknown as { __storageFull: boolean }).__storageFull = f;
  }, full);
}

/** axe-core over the page (WCAG 2.1 A and AA): no violations, or the list of them. */
export async function noAxeViolations(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const summary = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  expect(summary, `axe on ${what}`).toEqual([]);
}
