/**
 * Issue 9, PostObject reads form data before it can authenticate: everything before the file
 * (boundaries, part headers, names and values) counts against AWS S3's 20 KB, the parts are
 * capped, and the reader stops pulling the body as soon as a limit is passed.
 * test/integration/security-dos-post-form.test.ts sends the attack to a real gateway.
 */
import { S3Error } from '../../gateway/s3/errors.js';
import { MAX_FORM_FIELDS, MAX_PRE_DATA, readPostForm } from '../../gateway/s3/post-form.js';

const B = 'b';

/** A body source that counts what the reader pulled from it. */
function source(body: Buffer, chunk = 1024): { pulled: () => number; it: AsyncGenerator<Buffer> } {
  let pulled = 0;
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i < body.length; i += chunk) {
      pulled += Math.min(chunk, body.length - i);
      yield body.subarray(i, i + chunk);
    }
  }
  return { pulled: () => pulled, it: gen() };
}

const part = (name: string, value = ''): string => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const file = `--${B}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nDATA\r\n--${B}--\r\n`;

async function errorOf(body: Buffer): Promise<{ code: string; pulled: number }> {
  const s = source(body);
  try {
    const form = await readPostForm(s.it, B);
    if (form.file) for await (const _ of form.file.body);
  } catch (err) {
    if (err instanceof S3Error) return { code: err.code, pulled: s.pulled() };
    throw err;
  }
  return { code: 'none', pulled: s.pulled() };
}

test('a flood of empty fields is refused after 20 KB, without reading on', async () => {
  // The attack: 141 MB of empty fields once grew the gateway by 180 MB. 10 MB here.
  const body = Buffer.from(part('a').repeat(Math.ceil(10e6 / part('a').length)) + file);
  const { code, pulled } = await errorOf(body);
  expect(code).toBe('MaxPostPreDataLengthExceededError');
  expect(pulled).toBeLessThanOrEqual(MAX_PRE_DATA + 2048);
});

test('field names and part headers count, not only values', async () => {
  const name = 'n'.repeat(7 * 1024);
  expect((await errorOf(Buffer.from(part(`${name}1`) + part(`${name}2`) + part(`${name}3`) + file))).code).toBe('MaxPostPreDataLengthExceededError');
  const padded = `--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(7000)}\r\n\r\n\r\n`;
  expect((await errorOf(Buffer.from(padded.repeat(3) + file))).code).toBe('MaxPostPreDataLengthExceededError');
  // One part head may not be larger than 8 KB on its own.
  expect((await errorOf(Buffer.from(part('n'.repeat(9 * 1024)) + file))).code).toBe('MaxPostPreDataLengthExceededError');
  // A preamble before the first boundary counts too.
  expect((await errorOf(Buffer.from(`${'x'.repeat(MAX_PRE_DATA + 1)}\r\n${part('a')}${file}`))).code).toBe('MaxPostPreDataLengthExceededError');
});

test('at most MAX_FORM_FIELDS parts before the file, even small ones', async () => {
  const tiny = `--${B}\r\nContent-Disposition:form-data;name=a\r\n\r\n\r\n`;
  expect(tiny.length * (MAX_FORM_FIELDS + 1)).toBeLessThan(MAX_PRE_DATA);
  expect((await errorOf(Buffer.from(tiny.repeat(MAX_FORM_FIELDS + 1) + file))).code).toBe('MaxPostPreDataLengthExceededError');
  expect((await errorOf(Buffer.from(tiny.repeat(MAX_FORM_FIELDS - 1) + file))).code).toBe('none');
});

test('a form just under the limit, everything counted, is read whole', async () => {
  const head = part('key', 'k');
  const filler = MAX_PRE_DATA - head.length - `--${B}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`.length - part('x').length;
  const body = Buffer.from(head + part('x', 'v'.repeat(filler)) + file);
  const form = await readPostForm(source(body).it, B);
  expect(form.fields.get('key')).toBe('k');
  expect(form.file?.filename).toBe('f');
  const over = Buffer.from(head + part('x', 'v'.repeat(filler + 1)) + file);
  expect((await errorOf(over)).code).toBe('MaxPostPreDataLengthExceededError');
});
