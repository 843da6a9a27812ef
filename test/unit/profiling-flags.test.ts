import { describe, expect, test } from 'vitest';
import { profilingFlags } from '../../cli/supervisor.js';

describe('profiling flags passed on to store processes', () => {
  test('profilers and where they write, in either spelling', () => {
    expect(profilingFlags(['--cpu-prof', '--cpu-prof-dir=prof', '--perf-basic-prof'])).toEqual(['--cpu-prof', '--cpu-prof-dir=prof', '--perf-basic-prof']);
    expect(profilingFlags(['--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--cpu-prof-interval', '500'])).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-interval=500']);
    expect(profilingFlags(['--heap-prof', '--heap-prof-dir=h', '--prof'])).toEqual(['--heap-prof', '--heap-prof-dir=h', '--prof']);
  });

  test('nothing else of how the parent was started, and no file name every process would share', () => {
    expect(profilingFlags([])).toEqual([]);
    expect(profilingFlags(['--max-old-space-size=4096', '--inspect', '--cpu-prof-name=one.cpuprofile', '--heap-prof-name', 'h.heapprofile', '--enable-source-maps'])).toEqual([]);
    // A value that is missing at the end is not invented.
    expect(profilingFlags(['--cpu-prof-dir'])).toEqual([]);
  });
});
