import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

/**
 * The request body as a stream of its own. A failure further down the body pipeline (write
 * quorum lost, a bad chunk signature) then ends this stream, not the client's socket, so the
 * gateway can still answer with an S3 error; the unread rest of the body is discarded and
 * the connection closed after the answer. A client that goes away mid-body fails the stream.
 */
export function detachedBody(koa: { req: IncomingMessage; set(field: string, value: string): void }): Readable {
  const { req } = koa;
  const out = new PassThrough();
  req.pipe(out);
  req.once('error', (err) => out.destroy(err));
  req.once('close', () => {
    if (!req.complete) out.destroy(Object.assign(new Error('the client closed the connection before the body ended'), { code: 'ECONNRESET' }));
  });
  out.once('close', () => {
    if (!req.complete) {
      req.unpipe(out);
      // The answer goes out while body bytes may still arrive: never reuse this connection.
      koa.set('connection', 'close');
    }
  });
  return out;
}
