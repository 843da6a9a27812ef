import { afterAll } from 'vitest';

type Closer = () => Promise<void> | void;
const perTest: Closer[] = [];
const perFile: Closer[] = [];

/** Register a cleanup: 'each' runs after the current test, 'file' after the whole file. */
export function onClose(fn: Closer, scope: 'each' | 'file' = 'each'): void {
  (scope === 'each' ? perTest : perFile).push(fn);
}

export async function closeAll(scope: 'each' | 'file'): Promise<void> {
  const list = scope === 'each' ? perTest : perFile;
  const fns = list.splice(0).reverse();
  for (const fn of fns) {
    try {
      await fn();
    } catch (err) {
      console.error('cleanup failed:', err);
    }
  }
}

afterAll(async () => {
  await closeAll('file');
});
