import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { newRequestId } from './ids.js';
import { parseRate } from './repair/config.js';
import { S3Error } from './s3/errors.js';
import { ConfigError } from './secrets.js';

/**
 * What the S3 port allows a client before it is cut off: the same port serves anonymous
 * clients, so a socket that sends half a request, or nothing, or a body one byte a minute,
 * must not hold a connection (and its memory) for ever. An upload that moves steadily,
 * however slowly and however big, is never cut: time limits apply to silence, not to the
 * length of a request.
 */
export interface HttpLimits {
  /** Time to receive a request's headers (Node's headersTimeout). */
  headerTimeoutMs: number;
  /**
   * A connection on which nothing moves for this long is closed: between requests
   * (keep-alive), while a request body is awaited, or while an answer waits for the client to
   * read it. Time the gateway itself spends (a long CopyObject) never counts.
   */
  idleTimeoutMs: number;
  /** Bytes per second a request body must average over each idle window; 0 = only the idle timeout. */
  minBodyRate: number;
  /** Open connections served; more are answered 503 SlowDown and closed. */
  maxConnections: number;
}

function int(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

/** From SHARDGATE_HEADER_TIMEOUT_MS, SHARDGATE_IDLE_TIMEOUT_MS, SHARDGATE_MIN_BODY_RATE and SHARDGATE_MAX_CONNECTIONS. */
export function httpLimits(env: NodeJS.ProcessEnv): HttpLimits {
  return {
    headerTimeoutMs: int('SHARDGATE_HEADER_TIMEOUT_MS', env.SHARDGATE_HEADER_TIMEOUT_MS, 60_000, 100, 3_600_000),
    // Past 60 s, a load balancer's idle timeout (AWS ALB's default) closes first, never the gateway under it.
    idleTimeoutMs: int('SHARDGATE_IDLE_TIMEOUT_MS', env.SHARDGATE_IDLE_TIMEOUT_MS, 65_000, 100, 3_600_000),
    // 1 KiB/s: what a phone on a poor link still sends; 64 KiB a minute cost a client who holds a connection.
    minBodyRate: parseRate('SHARDGATE_MIN_BODY_RATE', env.SHARDGATE_MIN_BODY_RATE ?? '1KiB'),
    maxConnections: int('SHARDGATE_MAX_CONNECTIONS', env.SHARDGATE_MAX_CONNECTIONS, 4096, 1, 1_000_000),
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A request whose body is still arriving, measured at every tick. */
interface Upload {
  req: IncomingMessage;
  res: ServerResponse;
  /** `Expect: 100-continue` not yet answered: the client is right to send nothing. */
  awaitingContinue: boolean;
  /** socket.bytesRead when bytes last arrived, and when. */
  lastBytes: number;
  lastProgressAt: number;
  /** Where the current rate window started. */
  windowBytes: number;
  windowStart: number;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The limits, applied to one server: `wrap` the request handler (before createServer), then
 * `attach` the server (before listen).
 *
 * - Headers: Node's headersTimeout, checked often enough for the configured value (Node's own
 *   check runs every 30 s). Node answers 408 and closes.
 * - Keep-alive and answers the client does not read: the socket's idle timeout.
 * - Bodies: a tick measures every body still arriving. While the gateway is not reading (its
 *   buffers are full, or `100 Continue` is not sent yet) nothing is counted against the
 *   client; otherwise a body silent for the idle window, or slower than the minimum rate over
 *   it, is answered 400 RequestTimeout (AWS S3's answer to an idle upload) and closed.
 * - Connections: past the cap, a connection is answered 503 SlowDown (what AWS S3 answers when
 *   it sheds load; SDKs treat it as throttling and retry with backoff) and closed. Answering
 *   takes reading the request, so a reserve of sockets over the cap is kept for that, each
 *   given a few seconds to send its request; past the reserve, Node drops new connections.
 */
export class HttpLimiter {
  readonly #limits: HttpLimits;
  readonly #uploads = new Map<Socket, Upload>();
  /** The request each socket is serving now (a socket with none is idle between requests). */
  readonly #current = new Map<Socket, IncomingMessage>();
  readonly #overCap = new WeakSet<Socket>();
  /** Connections that have had a request. */
  readonly #served = new WeakSet<Socket>();
  #open = 0;
  #tick: NodeJS.Timeout | undefined;

  readonly #onRefusal: ((req: IncomingMessage, res: ServerResponse, err: S3Error) => void) | undefined;

  /** `onRefusal` is told of each request the limiter answers itself (the access log). */
  constructor(limits: HttpLimits, onRefusal?: (req: IncomingMessage, res: ServerResponse, err: S3Error) => void) {
    this.#limits = limits;
    this.#onRefusal = onRefusal;
  }

  /** The request handler, with over-cap connections answered here and every request tracked. */
  wrap(handle: Handler): Handler {
    return (req, res) => {
      const socket = req.socket;
      res.once('finish', () => lingerIfUnread(req, socket));
      if (this.#overCap.has(socket)) {
        const err = new S3Error('SlowDown');
        this.#onRefusal?.(req, res, err);
        return answerError(res, err);
      }
      this.#current.set(socket, req);
      this.#served.add(socket);
      res.once('close', () => {
        if (this.#current.get(socket) === req) this.#current.delete(socket);
        if (this.#uploads.get(socket)?.req === req) this.#uploads.delete(socket);
      });
      if (hasBody(req)) this.#watchBody(req, res);
      return handle(req, res);
    };
  }

  attach(server: Server): void {
    const { headerTimeoutMs, idleTimeoutMs, maxConnections } = this.#limits;
    // No limit on a whole request: a multi-gigabyte upload may take hours. Silence and slowness
    // are what is limited.
    server.requestTimeout = 0;
    server.headersTimeout = headerTimeoutMs;
    // The createServer option of that name, read when the server starts listening; Node's
    // default (30 s) would let a 1 s header timeout run to 31 s.
    Object.assign(server, { connectionsCheckingInterval: clamp(Math.floor(headerTimeoutMs / 10), 50, 5_000) });
    server.keepAliveTimeout = idleTimeoutMs;
    server.timeout = idleTimeoutMs;
    server.maxConnections = maxConnections + Math.max(16, Math.ceil(maxConnections / 8));
    // Behind TLS, requests arrive on the TLS socket that 'secureConnection' gives.
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.#open++;
      socket.once('close', () => {
        this.#open--;
        this.#uploads.delete(socket);
        this.#current.delete(socket);
      });
      if (this.#open > maxConnections) {
        this.#overCap.add(socket);
        socket.setTimeout(Math.min(idleTimeoutMs, 5_000));
      }
    });
    server.on('timeout', (socket: Socket) => this.#onIdle(socket));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket));
    this.#tick = setInterval(() => this.#measureBodies(), clamp(Math.floor(idleTimeoutMs / 8), 50, 5_000));
    this.#tick.unref();
    server.once('close', () => clearInterval(this.#tick));
  }

  /** Nothing moved on the socket for the idle window: close it, unless the gateway is the one working. */
  #onIdle(socket: Socket): void {
    const busy = this.#current.has(socket);
    // Before its first request, a connection is the header timeout's (which answers 408).
    if (!busy && !this.#served.has(socket) && !this.#overCap.has(socket)) {
      socket.setTimeout(this.#limits.idleTimeoutMs);
      return;
    }
    // Idle between requests, or an answer the client has not read for a whole window.
    if (!busy || socket.writableLength > 0) {
      socket.destroy();
      return;
    }
    // The gateway is still working on a request (bodies are judged by #measureBodies).
    socket.setTimeout(this.#limits.idleTimeoutMs);
  }

  #watchBody(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const now = Date.now();
    const upload: Upload = {
      req, res, awaitingContinue: /^100-continue$/i.test(req.headers.expect ?? ''),
      lastBytes: socket.bytesRead, lastProgressAt: now, windowBytes: socket.bytesRead, windowStart: now,
    };
    if (upload.awaitingContinue) {
      const writeContinue = res.writeContinue.bind(res);
      res.writeContinue = (cb?: () => void): void => {
        upload.awaitingContinue = false;
        upload.lastProgressAt = upload.windowStart = Date.now();
        writeContinue(cb);
      };
    }
    this.#uploads.set(socket, upload);
  }

  #measureBodies(): void {
    const now = Date.now();
    const { idleTimeoutMs, minBodyRate } = this.#limits;
    for (const [socket, u] of this.#uploads) {
      if (u.req.complete || socket.destroyed) {
        this.#uploads.delete(socket);
        continue;
      }
      const bytes = socket.bytesRead;
      // The gateway is not reading (backpressure), or has not asked for the body yet.
      if (u.awaitingContinue || socket.isPaused() || u.req.readableLength >= u.req.readableHighWaterMark) {
        u.lastBytes = u.windowBytes = bytes;
        u.lastProgressAt = u.windowStart = now;
        continue;
      }
      if (bytes > u.lastBytes) {
        u.lastBytes = bytes;
        u.lastProgressAt = now;
      }
      const silent = now - u.lastProgressAt >= idleTimeoutMs;
      const windowOver = now - u.windowStart >= idleTimeoutMs;
      const tooSlow = windowOver && minBodyRate > 0 && bytes - u.windowBytes < (minBodyRate * (now - u.windowStart)) / 1000;
      if (silent || tooSlow) {
        this.#uploads.delete(socket);
        answerError(u.res, new S3Error('RequestTimeout'));
        continue;
      }
      if (windowOver) {
        u.windowBytes = bytes;
        u.windowStart = now;
      }
    }
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Answer an S3 error on a response the application may still hold, closing the connection:
 * whatever the client sends next is not read (see lingerIfUnread). A client that does not read
 * the answer either is cut off by the idle timeout.
 */
function answerError(res: ServerResponse, err: S3Error): void {
  const socket = res.socket;
  if (res.headersSent || res.writableEnded) {
    socket?.destroy();
    return;
  }
  const requestId = String(res.getHeader('x-amz-request-id') ?? newRequestId());
  const body = err.toXml(requestId);
  res.writeHead(err.status, {
    'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close', 'x-amz-request-id': requestId,
  });
  res.end(body);
}

/**
 * Bytes Node's HTTP parser could not read as a request (a body longer than its
 * Content-Length runs into the next request, a header section over the limit, a request
 * that never finished its headers): Node's own answer is a bare status line. The client gets
 * an S3 error document instead, as for any other refusal, and the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // Destroyed with the error, as Node's own handler does: a request still reading its body
  // fails with it (and is counted as a client disconnect) instead of waiting.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(err);
    return;
  }
  const current = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  // The request being served was itself cut short (its client left mid-body): nothing to say.
  if (current && !current.writableFinished && !current.req.complete) {
    socket.destroy(err);
    return;
  }
  // A complete request before the bad bytes is still being answered: that answer first, then this one.
  if (current && !current.writableFinished) {
    current.once('finish', () => answerClientError(err, socket));
    current.once('close', () => {
      if (!current.writableFinished) socket.destroy();
    });
    return;
  }
  let status: number;
  let e: S3Error;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // Node's status for headers that never finished, kept; the document is S3's.
    status = 408;
    e = new S3Error('RequestTimeout');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    e = new S3Error('RequestHeaderSectionTooLarge');
    status = e.status;
  } else {
    e = new S3Error('InvalidRequest', 'The request could not be read as HTTP/1.1 (a body longer than its Content-Length, or a malformed request line or header).');
    status = e.status;
  }
  const requestId = newRequestId();
  const body = e.toXml(requestId);
  const reason = status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\nx-amz-request-id: ${requestId}\r\n\r\n${body}`);
  // Closed once the answer is out, as Node does after its own: the connection cap counts it until then.
  socket.once('finish', () => socket.destroy());
}

/** How long a closing connection still reads (and drops) what the client sends. */
const LINGER_MS = 5_000;

/**
 * An answer that closes the connection before the request body was read (a refusal, a limit
 * passed): Node closes the socket as soon as the answer is written, and closing a socket that
 * has unread bytes sends a TCP reset, which can destroy the answer in the client's buffers
 * before the client reads it. So the connection lingers, as nginx's does: the client has been
 * sent the end of the stream, what it still sends is read and dropped, and the socket closes
 * when the client closes its side, when the body ends, or after LINGER_MS.
 */
function lingerIfUnread(req: IncomingMessage, socket: Socket): void {
  // Node's destroySoon() waits for the write side to finish, then destroys: take that over.
  // The listener Node added, found by identity: it is never called from here.
  /* eslint-disable @typescript-eslint/unbound-method */
  if (req.complete || socket.destroyed || !socket.listeners('finish').includes(socket.destroy)) return;
  socket.removeListener('finish', socket.destroy);
  /* eslint-enable @typescript-eslint/unbound-method */
  const close = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', close);
  req.once('end', close);
  req.unpipe();
  req.removeAllListeners('data');
  req.resume();
}
