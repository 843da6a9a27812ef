import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

/** Requests that sent `Expect: 100-continue` and have not been told to go on yet. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * For the server's 'checkContinue' event: the request is handled like any other, and its
 * "100 Continue" goes out only when a handler starts reading the body (detachedBody), that is
 * after authentication and every check that can refuse it, as AWS S3 does. A refused upload
 * is answered before the client sends a byte of it.
 */
export function deferContinue(req: IncomingMessage): void {
  awaitingContinue.add(req);
}

/** Requests whose `Expect` names something other than 100-continue. */
const unmetExpectation = new WeakSet<IncomingMessage>();

/**
 * For the server's 'checkExpectation' event (an `Expect` other than 100-continue): the request
 * goes to the app, which refuses it with an S3 error document (417 ExpectationFailed) instead
 * of Node's bare 417. RFC 9110 section 10.1.1: an unknown expectation may be answered 417.
 */
export function markUnmetExpectation(req: IncomingMessage): void {
  unmetExpectation.add(req);
}

export function hasUnmetExpectation(req: IncomingMessage): boolean {
  return unmetExpectation.has(req);
}

/** Sends the deferred "100 Continue" of a request about to have its body read (once). */
export function continueIfAsked(req: IncomingMessage, res: ServerResponse | undefined): void {
  if (!awaitingContinue.delete(req) || !res || res.headersSent) return;
  res.writeContinue();
}

/**
 * The request body as a stream of its own. A failure further down the body pipeline (write
 * quorum lost, a bad chunk signature) then ends this stream, not the client's socket, so the
 * gateway can still answer with an S3 error; the unread rest of the body is discarded and
 * the connection closed after the answer. A client that goes away mid-body fails the stream.
 */
export function detachedBody(koa: { req: IncomingMessage; res?: ServerResponse; set(field: string, value: string): void }): Readable {
  const { req } = koa;
  continueIfAsked(req, koa.res);
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
