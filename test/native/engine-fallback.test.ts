import { afterEach, describe, expect, it, vi } from 'vitest';

// The addon is "missing" in this file only: loadNative() answers null as it does when the
// build was skipped.
vi.mock('../../codec/native.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../codec/native.js')>()),
  loadNative: () => null,
  nativeLoadError: () => new Error('not built'),
}));

const { describeEngine, getEngine, resetEngineForTests } = await import('../../codec/engine.js');

afterEach(() => {
  delete process.env.SHARDGATE_ENGINE;
  resetEngineForTests();
  vi.restoreAllMocks();
});

describe('engine fallback without the addon', () => {
  it('falls back to the reference engine with exactly one warning', () => {
    delete process.env.SHARDGATE_ENGINE;
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    resetEngineForTests();
    expect(getEngine().coder.name).toBe('ronomon');
    getEngine();
    describeEngine();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/native addon not built/);
    expect(describeEngine().engine).toBe('reference');
  });

  it('fails hard when SHARDGATE_ENGINE=native', () => {
    process.env.SHARDGATE_ENGINE = 'native';
    resetEngineForTests();
    expect(() => getEngine()).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_UNAVAILABLE' }));
  });
});
