import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.stack/**', '.wrangler/**'],
    // Builds the dashboard's browser script the Worker serves, from the current sources.
    globalSetup: ['scripts/build-dashboard.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
