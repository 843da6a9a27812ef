#!/usr/bin/env node
/**
 * `npm run fuzz`: every fuzz target (test/fuzz) at 100 times the budget `npm test` gives them,
 * under one seed, printed first and last so that a failure can be replayed:
 *
 *   SHARDGATE_FUZZ_SEED=<seed> SHARDGATE_FUZZ_RUNS=<runs> npm run fuzz [-- -t "<test name>"]
 *
 * Extra arguments go to vitest (a file, `-t` to pick one property).
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

// fuzz.ts runs an ordinary property 40 times by default.
const runs = process.env.SHARDGATE_FUZZ_RUNS ?? String(40 * 100);
const seed = process.env.SHARDGATE_FUZZ_SEED ?? String(randomInt(-(2 ** 31), 2 ** 31));
const replay = `SHARDGATE_FUZZ_SEED=${seed} SHARDGATE_FUZZ_RUNS=${runs}`;
console.log(`fuzz: ${replay}`);
const args = process.argv.slice(2);
const targets = args.some((a) => a.startsWith('test/')) ? [] : ['test/fuzz'];
// Hours, not the suite's minute: at this budget one property may run for several minutes.
const result = spawnSync('npx', ['vitest', 'run', ...targets, '--testTimeout=7200000', '--hookTimeout=600000', ...args], {
  stdio: 'inherit',
  env: { ...process.env, SHARDGATE_FUZZ_SEED: seed, SHARDGATE_FUZZ_RUNS: runs },
});
console.log(`fuzz: ${result.status === 0 ? 'passed' : 'FAILED'}; replay with ${replay} npm run fuzz`);
process.exit(result.status ?? 1);
