import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests run in development mode: a process they start without JWT_SECRET invents one.
    env: { LIVESALE_ENV: 'development' },
    globalSetup: ['test/global-setup.ts'],
    // uWebSockets.js is a native addon: each test file runs in its own process.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/results.json' }]],
  },
});
