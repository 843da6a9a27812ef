// Each command loads only its own modules: a shard-store process never loads the gateway
// (koa, SQLite, the S3 layer), which halves its start-up time.

const USAGE = `shardgate — S3-compatible storage gateway with encrypted Reed-Solomon 10+6 erasure coding

Usage:
  shardgate dev [options]           gateway + 16 shard-stores on loopback, data under ./data (npm start)
  shardgate gateway [options]       the S3 gateway, pointed at shard-stores (SHARDGATE_SHARD_STORES)
  shardgate shard-store [options]   one shard-store server keeping pieces on a local disk
  shardgate admin <command>         nodes, repair, drain: manage a running gateway
  shardgate monitor [options]       an independent monitor: challenges the stores, signs what it sees
  shardgate bench --endpoint URL    measure an S3 endpoint: PUT/GET by object size and requests in flight
  shardgate version                 version, erasure engine and CPU kernel in use

Run 'shardgate <command> --help' for a command's options and environment variables.`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === 'dev' || cmd === 'gateway' || cmd === 'shard-store') (await import('./server-heap.js')).tuneServerHeap(process.env);
  switch (cmd) {
    case 'dev':
      return (await import('./dev.js')).runDev(rest, process.env);
    case 'gateway':
      return (await import('./gateway.js')).runGateway(rest, process.env);
    case 'admin':
      return (await import('./admin.js')).runAdminCli(rest, process.env);
    case 'monitor':
      return (await import('./monitor.js')).runMonitor(rest, process.env);
    case 'bench':
      return (await import('./bench.js')).runBench(rest, process.env);
    case 'shard-store': {
      const { runShardStore } = await import('../shard-store/main.js');
      return runShardStore(rest, process.env);
    }
    case 'version':
    case '--version':
    case '-v':
      return (await import('./version.js')).runVersion();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      console.error(`shardgate: unknown command "${cmd}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  // Configuration mistakes are the user's to fix: one line, no stack.
  if (e?.code === 'ERR_CONFIG' || e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    console.error(`shardgate: ${e.message}`);
  } else {
    console.error('shardgate:', err);
  }
  process.exit(1);
});
