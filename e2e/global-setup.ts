/**
 * Bundles the e2e harness (fake navigator.serial and navigator.usb over the simulator) into one classic script
 * that page.addInitScript can install before the app starts.
 */
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

export const HARNESS_DIR = fileURLToPath(new URL('./.build/', import.meta.url));

export default async function globalSetup(): Promise<void> {
  await bundle('./harness/fake-adapters.ts', 'WattwallFakeAdapters', 'fake-adapters.js', true);
  // The soak's driver (e2e/soak.e2e.ts), the same way; it must not empty what the harness built.
  await bundle('./soak/driver.ts', 'WattwallSoak', 'soak-driver.js', false);
}

async function bundle(entry: string, name: string, fileName: string, emptyOutDir: boolean): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: HARNESS_DIR,
      emptyOutDir,
      minify: false,
      sourcemap: 'inline',
      lib: {
        entry: fileURLToPath(new URL(entry, import.meta.url)),
        formats: ['iife'],
        name,
        fileName: () => fileName,
      },
    },
  });
}
