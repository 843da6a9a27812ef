import { afterEach } from 'vitest';
import { closeAll } from './helpers/registry.js';

// Every server or process a test starts registers itself; nothing outlives its test file's tests.
afterEach(async () => {
  await closeAll('each');
});
