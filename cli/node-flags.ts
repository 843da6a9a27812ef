/**
 * V8 flags that shardgate's server processes (gateway, shard-stores, `dev`) run with. V8 reads
 * them only as a process starts, and NODE_OPTIONS refuses them, so whatever starts a server
 * puts them on its command line:
 * - bin/shardgate.js's first line (the `shardgate` command), `npm start` and the Dockerfile;
 * - `dev`, for the shard-store processes and extra gateways it spawns;
 * - the benches, for every server they measure (the baseline too), and the test cluster.
 * test/unit/node-flags.test.ts keeps the launcher, `npm start` and the Dockerfile in step with this list.
 *
 * --initial-old-space-size=128: V8 starts a process with a small limit for its old generation
 * (about 30 MB here) and counts against it the bytes of every Buffer allocated since the last
 * full collection: a socket read, a piece in flight. At 100 MB/s of pieces, the store process
 * ran a full mark-compact three times a second on a heap of 8 MB, and the gateway about once a
 * second. Marking ran on the second core beside the work it shared it with: about a tenth of
 * the stores' CPU under 1 MiB PUTs. With this flag a 60 s 1 MiB PUT run made one full
 * collection in the stores (36 in 10 s without), and the heap peaked at 86 MB in the gateway
 * and 64 MB in the stores. The price is memory, bounded: up to 128 MB of garbage may wait for
 * that collection, so a 320 MiB copy grows the gateway by about +160 MiB where it grew by +80
 * (test/integration/s3-copy.test.ts). 64 was not enough for the gateway (25 full collections
 * in 10 s of 1 MiB PUTs, against 2 at 128), and without it on the gateway those PUTs ran 7% slower.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/** A flag's name as V8 compares it: `--a_b=1` and `--a-b` are both `--a-b`. */
function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return (eq < 0 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
}

/**
 * The flags a server process started by this one runs with: SERVER_NODE_FLAGS, except that
 * where this process was given its own value (`node --initial-old-space-size=512 ...`), the
 * child gets that value too.
 */
export function serverNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.map((flag) => {
    const own = execArgv.find((arg) => arg.includes('=') && flagName(arg) === flagName(flag));
    return own ?? flag;
  });
}
