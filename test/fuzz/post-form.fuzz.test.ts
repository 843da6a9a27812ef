/**
 * POST upload forms (multipart/form-data, gateway/s3/post-form.ts): forms encoded by undici's
 * FormData (what fetch sends, the same encoding browsers use) read back to their fields and
 * file however the body is split; damaged forms end in S3Error in bounded time; the bytes read
 * before the file stay bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../gateway/s3/errors.js';
import { formBoundary, MAX_PRE_DATA, readPostForm, type PostForm } from '../../gateway/s3/post-form.js';
import { applyMutations, check, hostileString, mutated, mutations, outcome, outcomeAsync, splitBuffer, splits, valueOf } from './fuzz.js';

interface FormShape {
  fields: Array<[string, string]>;
  file: { name: string; type: string; bytes: Buffer } | undefined;
}

/** Field names: the S3 ones and any text, except the backslashes and `file` handled below. */
const fieldName = fc.oneof(
  fc.constantFrom('key', 'acl', 'policy', 'x-amz-credential', 'X-Amz-Signature', 'Content-Type', 'success_action_status', 'x-amz-meta-a', 'tagging', 'AWSAccessKeyId'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
).filter((n) => n.toLowerCase() !== 'file');
const fieldValue = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', '\r\n', '--', '\r\n--', 'a\rb\nc'));
const noBackslash = (s: string): boolean => !s.includes('\\');

function formShape(names: fc.Arbitrary<string>, filenames: fc.Arbitrary<string>): fc.Arbitrary<FormShape> {
  return fc.record({
    fields: fc.array(fc.tuple(names, fieldValue), { maxLength: 8 }),
    file: fc.option(fc.record({
      name: filenames,
      type: fc.constantFrom('', 'text/plain', 'image/png', 'application/octet-stream'),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(new Uint8Array(0)), fc.constant(Uint8Array.from(Buffer.from('\r\n------formdata-undici-0'))))
        .map((a) => Buffer.from(a)),
    }), { nil: undefined }),
  });
}

/** The form as fetch sends it. */
async function encode(shape: FormShape): Promise<{ contentType: string; body: Buffer }> {
  const fd = new FormData();
  for (const [n, v] of shape.fields) fd.append(n, v);
  if (shape.file) fd.append('file', new Blob([shape.file.bytes], shape.file.type ? { type: shape.file.type } : {}), shape.file.name);
  const res = new Response(fd);
  return { contentType: res.headers.get('content-type')!, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * What the HTML form encoding leaves of names and values: line breaks made CRLF (names and
 * values), then `"`, CR and LF percent-escaped (names and filenames).
 */
const normalizedValue = (v: string): string => v.replace(/\r\n|\r|\n/g, '\r\n');
const escaped = (n: string): string => n.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
const escapedName = (n: string): string => escaped(normalizedValue(n));

async function readAll(form: PostForm): Promise<{ fields: Map<string, string>; file?: { filename: string; contentType: string | undefined; bytes: Buffer } }> {
  if (!form.file) return { fields: form.fields };
  const parts: Buffer[] = [];
  for await (const c of form.file.body) parts.push(c);
  return { fields: form.fields, file: { filename: form.file.filename, contentType: form.file.contentType, bytes: Buffer.concat(parts) } };
}

async function* reads(body: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  for (const piece of splitBuffer(body, sizes)) yield piece;
}

function roundTrip(names: fc.Arbitrary<string>, filenames: fc.Arbitrary<string>) {
  return fc.asyncProperty(formShape(names, filenames), splits(), async (shape, sizes) => {
    const { contentType, body } = await encode(shape);
    const boundary = valueOf(outcome(() => formBoundary(contentType), [S3Error]));
    const got = valueOf(await outcomeAsync(async () => readAll(await readPostForm(reads(body, sizes), boundary)), [S3Error]));
    const want = new Map<string, string>();
    for (const [n, v] of shape.fields) {
      const name = escapedName(n).toLowerCase();
      if (!want.has(name)) want.set(name, normalizedValue(v));
    }
    expect(got.fields).toEqual(want);
    if (shape.file) {
      expect(got.file).toEqual({ filename: escaped(shape.file.name), contentType: shape.file.type || 'application/octet-stream', bytes: shape.file.bytes });
    } else {
      expect(got.file).toBeUndefined();
    }
  });
}

describe('POST form round trips', () => {
  it('a form encoded by FormData reads back to its fields and file, however the body is split', async () => {
    await check(roundTrip(fieldName.filter(noBackslash), fc.string({ unit: 'binary', maxLength: 16 }).filter(noBackslash)));
  });

  // Quoted names and filenames were once unescaped as if `\x` were an escape, which browsers do
  // not write: `C:\dir\a.txt` became `C:dira.txt`, and `C:\dir\` was read with its quotes.
  it('a form whose names and filenames hold backslashes reads back the same', async () => {
    await check(roundTrip(fieldName.map((n) => `${n}\\x`), fc.string({ unit: 'binary', maxLength: 16 }).map((n) => `C:\\dir\\${n}`)), 0.25);
  });
});

describe('POST forms on hostile input', () => {
  it('formBoundary: a boundary or S3Error', () => {
    const contentType = fc.oneof(
      mutated(fc.constantFrom('multipart/form-data; boundary=----x', 'multipart/form-data; boundary="a b;c"', 'Multipart/Form-Data;boundary=z'), 3),
      hostileString(6).map((s) => `multipart/form-data; ${s}`),
    );
    check(fc.property(contentType, (ct) => {
      const o = outcome(() => formBoundary(ct), [S3Error]);
      if (o.ok) expect(o.value.length).toBeGreaterThan(0);
    }));
  });

  it('a damaged form reads to fields and file or ends in S3Error, in bounded time', async () => {
    await check(fc.asyncProperty(formShape(fieldName, fc.string({ maxLength: 10 })), mutations(1, 4), splits(), async (shape, edits, sizes) => {
      const { contentType, body } = await encode(shape);
      const broken = Buffer.from(applyMutations(body.toString('latin1'), edits), 'latin1');
      await outcomeAsync(async () => readAll(await readPostForm(reads(broken, sizes), formBoundary(contentType))), [S3Error]);
    }));
  });

  it('a body that is no form at all ends in S3Error, in bounded time', async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.constantFrom('--b', '--b\r\n', '--b\r\nContent-Disposition: form-data; name="', '--b\r\n\r\n'), fc.constantFrom('x', '\r\n', '-', '"', ';'), fc.integer({ min: 1, max: 100_000 }))
        .map(([head, filler, n]) => Buffer.from(head + filler.repeat(n))),
    );
    await check(fc.asyncProperty(body, splits(), async (b, sizes) => {
      await outcomeAsync(async () => readAll(await readPostForm(reads(b, sizes), 'b')), [S3Error]);
    }));
  });

  // Only field values once counted toward the 20 KB before the file, and fields were not
  // limited: an anonymous form of many empty fields with long heads was read without bound.
  it('at most about 20 KB (plus one part head) is read before the file or an error', async () => {
    const shape = fc.record({ fields: fc.integer({ min: 1, max: 400 }), nameLength: fc.integer({ min: 1, max: 4000 }) });
    await check(fc.asyncProperty(shape, async ({ fields, nameLength }) => {
      const parts: string[] = [];
      for (let i = 0; i < fields; i++) parts.push(`--b\r\nContent-Disposition: form-data; name="${'n'.repeat(nameLength)}${i}"\r\n\r\n\r\n`);
      const body = Buffer.from(`${parts.join('')}--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n--b--\r\n`);
      let consumed = 0;
      async function* counted(): AsyncGenerator<Buffer> {
        for (const piece of splitBuffer(body, new Array<number>(Math.ceil(body.length / 1024)).fill(1024))) {
          consumed += piece.length;
          yield piece;
        }
      }
      await outcomeAsync(() => readPostForm(counted(), 'b'), [S3Error]);
      expect(consumed).toBeLessThanOrEqual(MAX_PRE_DATA + 8 * 1024 + 2048);
    }), 0.25);
  });
});
