import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

// Integration suites start real gateway and shard-store processes; on a 2-core machine
// running many of them at once only makes every suite slower and timeouts flaky.
export default defineConfig({
  test: {
    globals: true,
    // test/fuzz/*.fuzz.test.ts are included: they run here with the small budget of
    // test/fuzz/fuzz.ts (SHARDGATE_FUZZ_RUNS), and longer with `npm run fuzz`.
    include: ['test/**/*.test.ts', 'codec/**/*.test.ts', 'gateway/**/*.test.ts', 'shard-store/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
