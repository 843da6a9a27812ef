/** The metadata conformance suite on SQLite, the embedded default: a new file per test. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetaStore } from '../../gateway/meta/meta-store.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import { describeMetaConformance } from '../helpers/meta-conformance.js';

const fresh = (): string => join(mkdtempSync(join(tmpdir(), 'sg-meta-conf-')), 'meta.db');

// The races of describeMetaRaces are for backends several gateways share; SQLite is one
// gateway's, whose methods are each one transaction on one connection.
describeMetaConformance('SQLite', async () => new SqliteMetaStore(fresh()), (meta: MetaStore) => meta.close());
