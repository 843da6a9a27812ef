/**
 * The single-copy baseline of `npm run bench`: one process that keeps whole objects as
 * plain files, with the same durability a shard-store gives a piece (stream to a temp file,
 * fsync it, rename, fsync the directory, then 201). What the gateway adds on top of this
 * (SigV4, encryption, Reed-Solomon 10+6, 16 shard writes, metadata) is what the ratio shows.
 *
 *   node dist/bench/baseline-server.js <dir>   prints "baseline listening on http://127.0.0.1:PORT"
 *
 * PUT /<name> stores the body, GET /<name> streams it back. Names are [A-Za-z0-9._-]+.
 * Loopback and port 0 only: it is a measuring stick, not a server to expose.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { writeAll } from '../shard-store/store.js';

export interface BaselineServer {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const NAME_RE = /^\/([A-Za-z0-9._-]{1,200})$/;
/** The same stream buffer size the shard-store uses, so neither side wins on syscall count. */
const IO_CHUNK = 256 * 1024;

/** Start the baseline in this process on 127.0.0.1, port 0. */
export async function startBaselineServer(dir: string): Promise<BaselineServer> {
  const root = resolve(dir);
  const server = createServer({ requestTimeout: 0, noDelay: true }, (req, res) => {
    handle(root, req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, String(err));
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name = NAME_RE.exec(req.url ?? '')?.[1];
  if (!name || name.startsWith('.')) return reply(res, 400, 'bad name');
  const file = join(root, name);
  if (req.method === 'PUT') {
    await writeDurably(root, file, req);
    return reply(res, 201, '');
  }
  if (req.method === 'GET') {
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0) return reply(res, 404, 'not found');
    const fh = await open(file, 'r');
    try {
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      await pipeline(fh.createReadStream({ autoClose: false, highWaterMark: IO_CHUNK }), res);
    } finally {
      await fh.close();
    }
    return;
  }
  return reply(res, 405, 'PUT or GET');
}

/** Temp file, fsync, rename, directory fsync: a crash never leaves half an object under its name. */
async function writeDurably(root: string, file: string, body: IncomingMessage): Promise<void> {
  const tmp = `${file}.tmp${randomBytes(6).toString('hex')}`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await writeBody(fh, body);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
    const dirFh = await open(root, 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Body to file in ~IO_CHUNK batches (what the shard-store does too). Not `pipeline(req,
 * fh.createWriteStream())`: that waits for the request's 'close', which the server emits only
 * after the response, and a FileHandle stream with autoClose off keeps `fh.close()` waiting.
 * The for-await reads no further until each write is done, so memory stays bounded.
 */
async function writeBody(fh: FileHandle, body: AsyncIterable<Buffer>): Promise<void> {
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    const bufs = batch;
    batch = [];
    batched = 0;
    await writeAll(fh, bufs);
  };
  for await (const chunk of body) {
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= IO_CHUNK) await flush();
  }
  await flush();
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function main(argv: string[]): Promise<void> {
  const dir = argv[0];
  if (!dir) {
    console.error('usage: node dist/bench/baseline-server.js <dir>');
    process.exit(2);
  }
  const srv = await startBaselineServer(dir);
  console.log(`baseline listening on ${srv.url}`);
  const stop = (): void => {
    srv.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Run as a program only when it is the entry point; the bench may also import it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
