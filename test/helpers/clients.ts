import { execFile, type ExecFileException } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Whether an executable is on PATH (a client that is missing makes its tests skip). */
export function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a client to completion; never throws, the caller checks `code`. */
export async function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { timeout?: number; cwd?: string } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { env, cwd: opts.cwd, maxBuffer: 32 * 1024 * 1024, timeout: opts.timeout ?? 110_000, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as ExecFileException & { stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.killed ? ' (killed: timeout)' : ''}` };
  }
}

/** Run a client that must succeed; its stdout. SG_DEBUG_CLIENTS=1 prints what it said on stderr. */
export async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { timeout?: number; cwd?: string } = {}): Promise<string> {
  const r = await exec(cmd, args, env, opts);
  if (process.env.SG_DEBUG_CLIENTS && r.stderr.trim()) console.error(`[${cmd} ${args.slice(0, 3).join(' ')}] ${r.stderr}`);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  return r.stdout;
}

/** Every regular file under `root`, by relative path, with its SHA-256: two trees compare equal when a client copied one into the other byte for byte. */
export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** Write `files` (relative path → content) under `root`, creating folders: a source tree for a client to copy. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}
