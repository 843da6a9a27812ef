import { afterEach, describe, expect, it } from 'vitest';
import { describeEngine, getEngine, resetEngineForTests } from '../../codec/engine.js';
import { setKernel } from '../../codec/native.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const best = binding.info().kernel;
const saved = { engine: process.env.SHARDGATE_ENGINE, kernel: process.env.SHARDGATE_RS_KERNEL };

afterEach(() => {
  for (const [name, value] of [['SHARDGATE_ENGINE', saved.engine], ['SHARDGATE_RS_KERNEL', saved.kernel]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  setKernel(binding, best);
  resetEngineForTests();
});

describe('engine choice', () => {
  it('uses the native engine and its best kernel when the addon loads', () => {
    delete process.env.SHARDGATE_ENGINE;
    delete process.env.SHARDGATE_RS_KERNEL;
    resetEngineForTests();
    expect(getEngine().name).toBe(`native (${best})`);
    const d = describeEngine();
    expect(d).toMatchObject({ engine: 'native', kernel: best });
    expect(d.summary).toContain(`kernel: ${best}`);
    expect(d.cpu).toBeTypeOf('string');
  });

  it('honours SHARDGATE_ENGINE=reference', () => {
    process.env.SHARDGATE_ENGINE = 'reference';
    resetEngineForTests();
    expect(getEngine().coder.name).toBe('ronomon');
    expect(describeEngine()).toMatchObject({ engine: 'reference', kernel: null });
  });

  it('honours SHARDGATE_RS_KERNEL', () => {
    process.env.SHARDGATE_ENGINE = 'native';
    process.env.SHARDGATE_RS_KERNEL = 'scalar';
    resetEngineForTests();
    expect(getEngine().coder.name).toBe('native/scalar');
    expect(describeEngine().kernel).toBe('scalar');
  });

  it('refuses unknown engine and kernel names', () => {
    process.env.SHARDGATE_ENGINE = 'fast';
    resetEngineForTests();
    expect(() => getEngine()).toThrow(expect.objectContaining({ code: 'ERR_CODEC_ARGUMENT' }));
    process.env.SHARDGATE_ENGINE = 'native';
    process.env.SHARDGATE_RS_KERNEL = 'gfni512';
    resetEngineForTests();
    expect(() => getEngine()).toThrow(/unknown kernel/);
  });
});
