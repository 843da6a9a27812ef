import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** Deterministic test bytes: AES-256-CTR keyed by the seed. */
export function bytes(n: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

export const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
export const md5B64 = (b: Buffer): string => createHash('md5').update(b).digest('base64');
export const crc32B64 = (b: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b));
  return out.toString('base64');
};

/** The code and HTTP status of an S3 error answer; fails when the request succeeds. */
export async function s3Error(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return { code: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('expected the request to fail');
}

/** Of settled racing writes: how many succeeded, and the `status code` of each that did not. */
export async function outcomes(writes: Array<Promise<unknown>>): Promise<{ won: number; lost: string[] }> {
  const settled = await Promise.all(writes.map((w) => w.then(() => 'won', async (err: unknown) => {
    const e = await s3Error(Promise.reject(err));
    return `${e.status} ${e.code}`;
  })));
  return { won: settled.filter((s) => s === 'won').length, lost: settled.filter((s) => s !== 'won') };
}

/**
 * A maker of fresh buckets, one per test, named `<prefix>-<tag>-<n>`. `objectOwnership`: for
 * tests of ACLs, which new buckets have disabled (BucketOwnerEnforced) unless made otherwise.
 */
export function bucketFactory(
  client: () => S3Client, prefix: string, objectOwnership?: 'ObjectWriter' | 'BucketOwnerPreferred' | 'BucketOwnerEnforced',
): (tag: string) => Promise<string> {
  let seq = 0;
  return async (tag) => {
    const name = `${prefix}-${tag}-${++seq}`;
    await client().send(new CreateBucketCommand({ Bucket: name, ...(objectOwnership && { ObjectOwnership: objectOwnership }) }));
    return name;
  };
}

/** An object's bytes (or a range or part of them). */
export async function objectBytes(s3: S3Client, bucket: string, key: string, extra: { Range?: string; PartNumber?: number; VersionId?: string } = {}): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Create `bucket` and put one object of random bytes per size, named `keyOf(index, size)`; returns the bytes by key. */
export async function seedBucket(s3: S3Client, bucket: string, sizes: readonly number[], keyOf: (i: number, size: number) => string): Promise<Map<string, Buffer>> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const objects = new Map<string, Buffer>();
  for (const [i, size] of sizes.entries()) {
    const key = keyOf(i, size);
    const body = randomBytes(size);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    objects.set(key, body);
  }
  return objects;
}
