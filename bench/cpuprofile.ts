/**
 * `npm run bench:cpuprofile -- FILE.cpuprofile [--by self|file|inclusive] [--top N] [--match RE]`:
 * where a process spent its CPU, from a profile Node wrote with `--cpu-prof`. How the figures
 * in the closing notes of speed work were found:
 *
 *   node --cpu-prof --cpu-prof-dir=prof dist/cli/main.js dev --port 9555 --data /tmp/p &
 *   shardgate bench --endpoint http://127.0.0.1:9555 --sizes 4KiB --concurrency 16 --ops PUT
 *   kill -INT %1; npm run bench:cpuprofile -- prof/CPU.*.cpuprofile --by inclusive
 *
 * The shard-store processes `dev` starts inherit the profiling flags (cli/supervisor.ts), so
 * `prof/` holds one profile for the gateway and one per store process: the largest is the
 * gateway's.
 *
 * `self`: time in each function itself; `file`: the same summed by source file or package;
 * `inclusive`: time with each function on the stack (callees included, each counted once per
 * sample); `callers`: the self time of the functions `--match` names, by the chain of six
 * callers above them (who allocates that buffer, who opens that file). Idle time is listed,
 * so the share of a busy process is plain to see.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function usage(): never {
  console.error('usage: npm run bench:cpuprofile -- FILE.cpuprofile [--by self|file|inclusive|callers] [--top N] [--match REGEXP]');
  process.exit(2);
}

function shortUrl(url: string): string {
  return url.replace(/^.*\/node_modules\/((@[^/]+\/)?[^/]+).*$/, 'npm:$1').replace(/^file:\/\/.*?\/(dist\/)/, '$1');
}

function fnKey(n: ProfileNode): string {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url ? `${shortUrl(f.url).replace(/^.*\//, '')}:${f.lineNumber + 1}` : ''}`.trim();
}

function fileKey(n: ProfileNode): string {
  return n.callFrame.url ? shortUrl(n.callFrame.url) : n.callFrame.functionName;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!file) usage();
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const by = opt('by') ?? 'self';
  if (!['self', 'file', 'inclusive', 'callers'].includes(by)) usage();
  const top = Number(opt('top') ?? 40);
  const match = opt('match') !== undefined ? new RegExp(opt('match')!) : undefined;
  if (by === 'callers' && !match) usage();

  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const leaf = byId.get(p.samples[i]!)!;
    if (by === 'callers') {
      if (!match!.test(fnKey(leaf))) continue;
      const chain = [fnKey(leaf)];
      for (let id = parent.get(leaf.id); id !== undefined && chain.length < 7; id = parent.get(id)) chain.push(fnKey(byId.get(id)!));
      const k = chain.join(' < ');
      totals.set(k, (totals.get(k) ?? 0) + dt);
      continue;
    }
    if (by !== 'inclusive') {
      const k = by === 'self' ? fnKey(leaf) : fileKey(leaf);
      totals.set(k, (totals.get(k) ?? 0) + dt);
      continue;
    }
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = fnKey(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      totals.set(k, (totals.get(k) ?? 0) + dt);
    }
  }
  const rows = [...totals].filter(([k]) => !match || match.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  console.log(`${(total / 1000).toFixed(0).padStart(8)} ms total (${p.samples.length} samples)`);
}

main();
