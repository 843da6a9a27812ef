import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Counts body bytes where Node hands them over: the parser pushes each chunk of the request
 * body into the request (read or not), and every response byte goes through write or end.
 */
const counted = new WeakMap<IncomingMessage, { in: number; out: number }>();

export function countBodies(req: IncomingMessage, res: ServerResponse): { in: number; out: number } {
  // The access log and the request metrics both count: one wrapping per request, shared.
  const known = counted.get(req);
  if (known) return known;
  const counts = { in: 0, out: 0 };
  counted.set(req, counts);
  // Wrapped below, each called with its stream as `this`.
  /* eslint-disable @typescript-eslint/unbound-method */
  const push = req.push;
  req.push = function (chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk != null) counts.in += byteLength(chunk);
    return push.call(this, chunk, encoding);
  };
  if (req.method === 'HEAD') return counts;
  const write = res.write;
  const end = res.end;
  /* eslint-enable @typescript-eslint/unbound-method */
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    if (chunk != null && !this.destroyed) counts.out += byteLength(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]): ServerResponse {
    if (chunk != null && typeof chunk !== 'function' && !this.destroyed && !this.writableEnded) counts.out += byteLength(chunk);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  return counts;
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}
