import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadNative, nativeCandidates, nativeLoadError } from '../../codec/native.js';

// Every native module the project uses must load here: a skipped or broken build
// (`npm install --ignore-scripts`, a missing compiler) fails this file instead of passing quietly.
const require = createRequire(import.meta.url);

describe('native modules load', () => {
  it('our addon (native/)', () => {
    const binding = loadNative();
    if (!binding) throw new Error(`shardgate native addon did not load: ${nativeLoadError()?.message}`);
    const info = binding.info();
    expect(info.supportedKernels).toContain(info.kernel);
    expect(nativeCandidates().some((p) => p.endsWith('shardgate_native.node'))).toBe(true);
  });

  it('better-sqlite3', () => {
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(':memory:');
    expect(db.prepare('select 1 + 1 as two').get()).toEqual({ two: 2 });
    db.close();
  });

  it('@ronomon/reed-solomon', () => {
    const rs = require('@ronomon/reed-solomon') as { create(k: number, m: number): Buffer };
    expect(Buffer.isBuffer(rs.create(10, 6))).toBe(true);
  });
});
