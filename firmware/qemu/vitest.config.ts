import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The check of the QEMU run's log (make -C firmware qemu first); not part of the unit tests,
// which must not need a firmware build.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['firmware/qemu/*.test.ts'],
    environment: 'node',
    expect: { requireAssertions: true },
  },
});
