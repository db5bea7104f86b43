import { defineConfig } from 'vitest/config';

/**
 * Test files whose subject is timing-sensitive kernel behaviour (`nft monitor` loading the table
 * and subscribing while transactions land) run after everything else, alone: under the CPU load
 * of the flood and heal tests beside them on a 2-core machine, the moments they arrange do not
 * happen.
 */
const ALONE = ['test/kernel/monitor.test.ts'];

export default defineConfig({
  test: {
    setupFiles: ['test/setup/guard.ts'],
    globalSetup: ['test/setup/global.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
