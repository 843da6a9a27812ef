/**
 * The POST form reader and policy checks (gateway/s3/post-form.ts, post-policy.ts) with
 * bodies cut at every possible place, so a boundary split across chunks is still found.
 */
import { S3Error } from '../../gateway/s3/errors.js';
import { checkPostPolicy, parsePostPolicy, postKey } from '../../gateway/s3/post-policy.js';
import { formBoundary, MAX_PRE_DATA, readPostForm } from '../../gateway/s3/post-form.js';

const B = 'XyZ-boundary';

async function* chunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function read(body: Buffer, size: number): Promise<{ fields: Record<string, string>; file?: { name: string; type?: string; data: Buffer } }> {
  const form = await readPostForm(chunks(body, size), B);
  const out: Awaited<ReturnType<typeof read>> = { fields: Object.fromEntries(form.fields) };
  if (form.file) {
    const parts: Buffer[] = [];
    for await (const c of form.file.body) parts.push(c);
    out.file = { name: form.file.filename, ...(form.file.contentType && { type: form.file.contentType }), data: Buffer.concat(parts) };
  }
  return out;
}

const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'none', (e: unknown) => (e instanceof S3Error ? e.code : String(e)));

describe('readPostForm', () => {
  // The file holds CRLF, a dash run and a partial boundary: none of them may end it.
  const data = Buffer.from(`a\r\n--${B.slice(0, 5)}\r\n\r\n--\r\nz`);
  const body = Buffer.concat([
    Buffer.from(`preamble\r\n--${B}\r\nContent-Disposition: form-data; name="Key"\r\n\r\nuploads/\${filename}\r\n`),
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="x-amz-meta-note"\r\n\r\nsp ace&+é\r\n`),
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="a \\"b\\".txt"\r\nContent-Type: text/plain\r\n\r\n`),
    data, Buffer.from(`\r\n--${B}\r\nContent-Disposition: form-data; name="after"\r\n\r\nignored\r\n--${B}--\r\n`),
  ]);

  test.each([1, 2, 7, 16, 64, 1024])('chunks of %i bytes', async (size) => {
    expect(await read(body, size)).toEqual({
      fields: { key: 'uploads/${filename}', 'x-amz-meta-note': 'sp ace&+é' },
      file: { name: 'a "b".txt', type: 'text/plain', data },
    });
  });

  test('a form without a file; an empty file', async () => {
    expect(await read(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--${B}--\r\n`), 3)).toEqual({ fields: { key: 'k' } });
    const empty = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="e"\r\n\r\n\r\n--${B}--\r\n`);
    expect((await read(empty, 5)).file?.data.length).toBe(0);
  });

  test('malformed and oversized forms', async () => {
    expect(await codeOf(read(Buffer.from('no boundary at all'), 4))).toBe('MalformedPOSTRequest');
    expect(await codeOf(read(Buffer.from(`--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${B}--`), 4))).toBe('MalformedPOSTRequest');
    const big = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="x"\r\n\r\n${'a'.repeat(MAX_PRE_DATA + 1)}\r\n--${B}--\r\n`);
    expect(await codeOf(read(big, 4096))).toBe('MaxPostPreDataLengthExceededError');
    const cut = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nabc`);
    expect(await codeOf(read(cut, 2))).toBe('IncompleteBody');
  });

  // Browsers leave backslashes as they are and percent-escape `"`; a value with inner quotes
  // is a backslash-escaped quoted-string from another kind of client (as in the form above).
  test.each([
    ['name="a\\b"; filename="C:\\dir\\a.txt"', 'a\\b', 'C:\\dir\\a.txt'],
    ['name="a\\"; filename="C:\\dir\\"', 'a\\', 'C:\\dir\\'],
    ['name="%22x%22"; filename="a %22b%22.txt"', '%22x%22', 'a %22b%22.txt'],
    ['name=plain; filename="x\\\\y"', 'plain', 'x\\\\y'],
    ['filename="a; name=b"; name="c"', 'c', 'a; name=b'],
  ])('Content-Disposition: form-data; %s', async (params, name, filename) => {
    const form = await readPostForm(chunks(Buffer.from(`--${B}\r\nContent-Disposition: form-data; ${params}\r\n\r\nv\r\n--${B}--\r\n`), 3), B);
    expect(form.fields).toEqual(new Map([[name, 'v']]));
    const file = await readPostForm(chunks(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\nv\r\n--${B}--\r\n`), 3), B);
    expect(file.file?.filename).toBe(filename);
  });

  test.each(['name="unterminated', 'name="a"b', 'name="a" junk'])('Content-Disposition: form-data; %s is MalformedPOSTRequest', async (params) => {
    expect(await codeOf(read(Buffer.from(`--${B}\r\nContent-Disposition: form-data; ${params}\r\n\r\nv\r\n--${B}--\r\n`), 3))).toBe('MalformedPOSTRequest');
  });

  test('formBoundary', () => {
    expect(formBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(formBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"')).toBe('a b');
    expect(() => formBoundary('text/plain')).toThrow(expect.objectContaining({ code: 'RequestIsNotMultiPartContent' }));
    expect(() => formBoundary('multipart/form-data')).toThrow(expect.objectContaining({ code: 'MalformedPOSTRequest' }));
  });
});

describe('post policy', () => {
  const b64 = (doc: unknown): string => Buffer.from(JSON.stringify(doc)).toString('base64');
  const policy = parsePostPolicy(b64({
    expiration: '2030-01-01T00:00:00Z',
    conditions: [{ bucket: 'bk' }, ['starts-with', '$key', 'up/'], ['eq', '$Content-Type', 'image/png'], ['content-length-range', 10, 20], ['starts-with', '$x-amz-meta-tag', '']],
  }));
  const fields = (extra: Record<string, string> = {}): Map<string, string> => new Map(Object.entries({ key: 'up/a', 'content-type': 'image/png', policy: 'p', 'x-amz-signature': 's', ...extra }));
  const now = new Date('2029-01-01T00:00:00Z');

  test('conditions hold: the size range is returned', () => {
    expect(checkPostPolicy(policy, fields({ 'x-amz-meta-tag': 'anything' }), 'bk', now)).toEqual({ min: 10, max: 20 });
  });

  test.each([
    ['another bucket', fields(), 'other', now],
    ['a key outside the prefix', fields({ key: 'down/a' }), 'bk', now],
    ['another content type', fields({ 'content-type': 'image/gif' }), 'bk', now],
    ['a field no condition names', fields({ acl: 'public-read' }), 'bk', now],
    ['an expired policy', fields(), 'bk', new Date('2031-01-01T00:00:00Z')],
  ])('%s is AccessDenied', (_what, f, bucket, at) => {
    expect(() => checkPostPolicy(policy, f, bucket, at)).toThrow(expect.objectContaining({ code: 'AccessDenied' }));
  });

  test.each([
    ['not base64 JSON', '!!!'],
    ['no expiration', b64({ conditions: [] })],
    ['no conditions', b64({ expiration: '2030-01-01T00:00:00Z' })],
    ['an unknown operator', b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['like', '$key', 'x']] })],
    ['a bad range', b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['content-length-range', 5, 1]] })],
    // Too deep for JSON.stringify: the error message must not serialize the condition whole.
    ['a condition nested 10,000 arrays deep', Buffer.from(`{"expiration":"2030-01-01T00:00:00Z","conditions":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}`).toString('base64')],
  ])('%s is InvalidPolicyDocument', (_what, text) => {
    expect(() => parsePostPolicy(text)).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument' }));
  });
});

describe('post policy: the key written, the expiration, checksum fields', () => {
  const b64 = (doc: unknown): string => Buffer.from(JSON.stringify(doc)).toString('base64');
  const now = new Date('2029-01-01T00:00:00Z');
  const base = { policy: 'p', 'x-amz-signature': 's' };

  test('the key is checked with ${filename} replaced by the file name', () => {
    const key = postKey('${filename}', 'foo.txt');
    expect(key).toBe('foo.txt');
    expect(postKey('up/${filename}/${filename}', 'a b')).toBe('up/a b/a b');
    const starts = parsePostPolicy(b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['starts-with', '$key', 'foo']] }));
    expect(checkPostPolicy(starts, new Map(Object.entries({ ...base, key })), 'bk', now)).toBeUndefined();
    expect(() => checkPostPolicy(starts, new Map(Object.entries({ ...base, key: postKey('${filename}', 'bar.txt') })), 'bk', now))
      .toThrow(expect.objectContaining({ code: 'AccessDenied' }));
    const exact = parsePostPolicy(b64({ expiration: '2030-01-01T00:00:00Z', conditions: [{ key: 'foo.txt' }] }));
    expect(checkPostPolicy(exact, new Map(Object.entries({ ...base, key })), 'bk', now)).toBeUndefined();
  });

  test('checksum fields need no condition', () => {
    const policy = parsePostPolicy(b64({ expiration: '2030-01-01T00:00:00Z', conditions: [{ key: 'k' }] }));
    const fields = new Map(Object.entries({ ...base, key: 'k', 'x-amz-checksum-sha256': 'x', 'x-amz-checksum-algorithm': 'SHA256' }));
    expect(checkPostPolicy(policy, fields, 'bk', now)).toBeUndefined();
  });

  test.each(['2030-01-01T00:00:00Z', '2030-01-01T00:00:00.123Z', '2030-01-01T01:00:00+01:00', '2030-01-01T00:00:00.123456Z'])('expiration %s is ISO 8601', (expiration) => {
    expect(parsePostPolicy(b64({ expiration, conditions: [] })).expiration.getTime()).toBe(Date.parse('2030-01-01T00:00:00Z') + (expiration.includes('.123') ? 123 : 0));
  });

  test.each(['2030-01-01 00:00:00.123456+00:00', '2030-01-01', 'Tue, 01 Jan 2030 00:00:00 GMT', '2030-02-30T00:00:00Z', '2030-01-01T24:00:00Z', 1893456000])(
    'expiration %s is InvalidPolicyDocument', (expiration) => {
      expect(() => parsePostPolicy(b64({ expiration, conditions: [] }))).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument', status: 400 }));
    });
});
