/**
 * Bundles the e2e harness (fake navigator.serial and navigator.usb over the simulator) into one classic script
 * that page.addInitScript can install before the app starts.
 */
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

export const HARNESS_DIR = fileURLToPath(new URL('./.build/', import.meta.url));

export default async function globalSetup(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: HARNESS_DIR,
      emptyOutDir: true,
      minify: false,
      sourcemap: 'inline',
      lib: {
        entry: fileURLToPath(new URL('./harness/fake-adapters.ts', import.meta.url)),
        formats: ['iife'],
        name: 'WattwallFakeAdapters',
        fileName: () => 'fake-adapters.js',
      },
    },
  });
}
