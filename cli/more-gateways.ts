import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensurePrivateDir } from '../gateway/secrets.js';
import { CLI_ENTRY } from './supervisor.js';
import { serverNodeFlags } from './node-flags.js';

/** The secrets every gateway of one cluster shares (cli/gateway.ts --init lists them). */
const SHARED_FILES = ['gateway-key.jwk', 'gateway-key.pub.jwk', 'master.key', 'root-credentials.json'];

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/**
 * Gateways 2..N of `shardgate dev --gateways N`: `shardgate gateway` processes of their own
 * (a gateway is one event loop; several in one process would share it), each with a data
 * folder holding copies of the first gateway's secrets, the same shard-stores and the same
 * shared metadata database. They stop when dev does, even when dev is killed (their stdin
 * closes).
 */
export async function spawnMoreGateways(opts: {
  count: number;
  firstDir: string;
  root: string;
  meta: string;
  host: string;
  /** Port of the first gateway; the others take the next ones (0: any free port). */
  port: number;
  shardStores: string;
  env: NodeJS.ProcessEnv;
}): Promise<GatewayProcess[]> {
  const started: GatewayProcess[] = [];
  for (let i = 2; i <= opts.count; i++) {
    const dir = join(opts.root, `gateway-${i}`);
    ensurePrivateDir(dir);
    for (const f of SHARED_FILES) {
      if (existsSync(join(opts.firstDir, f))) copyFileSync(join(opts.firstDir, f), join(dir, f));
    }
    const port = opts.port === 0 ? 0 : opts.port + i - 1;
    const args = [CLI_ENTRY, 'gateway', '--data', dir, '--meta', opts.meta, '--host', opts.host, '--port', String(port), '--shard-stores', opts.shardStores];
    const child = spawn(process.execPath, [...serverNodeFlags(), ...args], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...opts.env, SHARDGATE_GATEWAY_SUPERVISED: '1' } });
    const exited = once(child, 'exit');
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway ${i} did not start within 60 s`)), 60_000);
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = /^\s*S3 endpoint:\s+(\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      void exited.then(([code, signal]) => {
        clearTimeout(timer);
        reject(new Error(`gateway ${i} exited (${String(signal ?? code)}) before serving`));
      });
    });
    started.push({ url, child, exited });
  }
  return started;
}
