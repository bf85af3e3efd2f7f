/**
 * The built app is an installable PWA: a manifest with real icons, a service worker that precaches
 * the shell and the meter core, and updates that wait for the user (registerType 'prompt').
 * Reads the files of the production build that the other e2e tests are served from.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

const dist = new URL('../dist/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, dist));

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

test('the manifest names the app and points at real icons of the sizes it claims', () => {
  const manifest = JSON.parse(read('manifest.webmanifest').toString('utf8')) as {
    name: string;
    display: string;
    icons: { src: string; sizes: string; purpose?: string }[];
  };
  expect(manifest.name).toBe('Wattwall energy manager');
  expect(manifest.display).toBe('fullscreen');
  const sizes = manifest.icons.map((i) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']));
  expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
  for (const icon of manifest.icons) {
    const [width, height] = icon.sizes.split('x').map(Number);
    expect(pngSize(read(icon.src))).toEqual({ width, height });
  }
});

test('the service worker precaches the shell and the meter core, and waits for the user to update', () => {
  const sw = read('sw.js').toString('utf8');
  expect(sw).toContain('"index.html"');
  expect(sw).toMatch(/assets\/meter-[\w-]+\.wasm/);
  expect(sw).toMatch(/assets\/index-[\w-]+\.js/);
  // A waiting worker takes over only on the prompt's SKIP_WAITING message, never by itself.
  expect(sw).toContain('SKIP_WAITING');
  expect(sw).not.toContain('clientsClaim');
  expect(sw.match(/skipWaiting\(\)/g)).toHaveLength(1);
});
