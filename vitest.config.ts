import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

/**
 * The S3 integration files run a second time with their clusters' metadata on PostgreSQL
 * (SHARDGATE_TEST_META, test/helpers/cluster.ts): the ones that cover S3's semantics where the
 * two backends' SQL differs most (versions, conditional writes, multipart, batch deletes),
 * within about two minutes of CI time (the suite's budget is 15). `npm run test:postgres`
 * (SHARDGATE_TEST_POSTGRES=all, project 'postgres' alone) runs every integration file on it.
 */
const ON_POSTGRES = process.env.SHARDGATE_TEST_POSTGRES === 'all'
  ? ['test/integration/*.test.ts']
  : ['s3-sdk', 's3-versioning', 's3-conditional-writes', 's3-batch']
    .map((name) => `test/integration/${name}.test.ts`);

// Integration suites start real gateway and shard-store processes; on a 2-core machine
// running many of them at once only makes every suite slower and timeouts flaky.
export default defineConfig({
  test: {
    globals: true,
    setupFiles: ['test/setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          // test/fuzz/*.fuzz.test.ts are included: they run here with the small budget of
          // test/fuzz/fuzz.ts (SHARDGATE_FUZZ_RUNS), and longer with `npm run fuzz`.
          include: ['test/**/*.test.ts', 'codec/**/*.test.ts', 'gateway/**/*.test.ts', 'shard-store/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ON_POSTGRES,
          env: { SHARDGATE_TEST_META: 'postgres' },
        },
      },
    ],
  },
});
