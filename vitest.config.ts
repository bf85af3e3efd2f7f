import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    expect: { requireAssertions: true },
    // A hang guard, not a speed goal (speed belongs in npm run bench): property and fuzz runs of a
    // few hundred cases take seconds, and many times that on a loaded 2-core CI machine.
    testTimeout: 120_000,
  },
});
