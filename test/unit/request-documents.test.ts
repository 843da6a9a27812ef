import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { toS3Error } from '../../gateway/errors.js';
import type { ReqCtx } from '../../gateway/request.js';
import { readCheckedBody } from '../../gateway/s3/body.js';
import { onClose } from '../helpers/registry.js';

/** A server that reads every request body as a request document of at most `limit` bytes and answers its size or its S3 error code. */
async function documentServer(limit: number): Promise<string> {
  const app = new Koa();
  app.use(async (koa) => {
    try {
      koa.body = String((await readCheckedBody(koa, { auth: null } as unknown as ReqCtx, { limit, requireDigest: false })).length);
    } catch (err) {
      const e = toS3Error(err);
      koa.status = e.status;
      koa.body = e.code;
    }
  });
  // Koa handles its own errors: the promise its handler returns never rejects.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('request documents', () => {
  // Regression: the limit was enforced by throwing inside the body pipeline, which then rejected
  // with the AbortError of the body still streaming: a 500 InternalError for any oversized
  // document (DeleteObjects, tagging, CORS, policy, ACL, lifecycle ...).
  it('a document over its limit is MaxMessageLengthExceeded (400), while the body still streams', async () => {
    const url = await documentServer(64 * 1024);
    for (const size of [64 * 1024 + 1, 1024 * 1024]) {
      const res = await request(url, { method: 'PUT', body: Buffer.alloc(size, 'a') });
      expect([size, res.statusCode, await res.body.text()]).toEqual([size, 400, 'MaxMessageLengthExceeded']);
    }
    const ok = await request(url, { method: 'PUT', body: Buffer.alloc(64 * 1024, 'a') });
    expect([ok.statusCode, await ok.body.text()]).toEqual([200, String(64 * 1024)]);
  });
});
