import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS, serverNodeFlags } from '../../cli/node-flags.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('server V8 flags (cli/node-flags.ts)', () => {
  it('are on the first line of the shardgate launcher, in npm start and in the Docker image', () => {
    const shebang = readFileSync(`${root}bin/shardgate.js`, 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain(`node ${SERVER_NODE_FLAGS.join(' ')} bin/shardgate.js dev`);
    const docker = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(docker).toContain(`ENTRYPOINT ${JSON.stringify(['node', ...SERVER_NODE_FLAGS, 'bin/shardgate.js'])}`.replaceAll('","', '", "'));
  });

  it('are flags this node accepts', () => {
    const out = execFileSync(process.execPath, [...SERVER_NODE_FLAGS, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(out).toBe('ok');
  });

  it('pass on a value the parent was given, in either spelling', () => {
    expect(serverNodeFlags([])).toEqual([...SERVER_NODE_FLAGS]);
    expect(serverNodeFlags(['--cpu-prof'])).toEqual([...SERVER_NODE_FLAGS]);
    expect(serverNodeFlags(['--initial-old-space-size=512'])).toEqual(['--initial-old-space-size=512']);
    expect(serverNodeFlags(['--initial_old_space_size=64'])).toEqual(['--initial_old_space_size=64']);
  });
});
