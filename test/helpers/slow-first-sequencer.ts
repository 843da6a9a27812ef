import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (each a minute or so on 2 cores), started first: on a clean
 * checkout vitest has no durations to go by and orders files by size, which left a long
 * integration file running alone at the end while the other worker had nothing to do.
 * Longest first, the short files fill in at the end. Keep the list roughly in order of the
 * durations `.ci/run` prints.
 */
const SLOW_FIRST = [
  'multi-gateway', 'kill-under-load', 'ledger-economy', 'backup-clients', 'cli-clients', 'security-lying', 'console', 'faults', 'chaos',
  'security-auth', 's3-access', 's3-copy', 'backup-behaviours', 'recover', 'memory', 's3-conformance-sdk',
  'dev', 's3-sdk', 's3-versioning', 'security-secrets-rollback',
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.indexOf(basename(f.moduleId).replace(/\.test\.ts$/, ''));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
