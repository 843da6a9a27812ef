import { S3Error } from './errors.js';

/**
 * A streaming reader of the multipart/form-data body of a browser POST upload
 * (RFC 7578): the fields before the `file` part are read whole (they are small and
 * bounded), the file is streamed, and whatever follows it is ignored, as AWS S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */

/** AWS S3 refuses POST forms whose fields before the file exceed 20 KB. */
export const MAX_PRE_DATA = 20 * 1024;
const MAX_PART_HEAD = 8 * 1024;

export interface FormFile {
  filename: string;
  contentType: string | undefined;
  body: AsyncIterable<Buffer>;
}

export interface PostForm {
  /** Field names lower-cased (S3 compares them case-insensitively); the first of repeated names wins. */
  fields: Map<string, string>;
  file: FormFile | undefined;
}

/** The boundary of a `multipart/form-data` Content-Type; RequestIsNotMultiPartContent otherwise. */
export function formBoundary(contentType: string | undefined): string {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) throw new S3Error('RequestIsNotMultiPartContent');
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b || b.length > 70) throw new S3Error('MalformedPOSTRequest');
  return b;
}

function malformed(): S3Error {
  return new S3Error('MalformedPOSTRequest');
}

interface PartHead {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
}

function parsePartHead(block: string): PartHead {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) throw malformed();
  const param = (p: string): string | undefined => {
    const m = new RegExp(`;\\s*${p}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(disposition!) ?? new RegExp(`;\\s*${p}=([^;\\s]+)`, 'i').exec(disposition!);
    return m?.[1]?.replace(/\\(.)/g, '$1');
  };
  const name = param('name');
  if (name === undefined) throw malformed();
  return { name, filename: param('filename'), contentType };
}

/** Read the fields and open the file of a POST form. The file's body must be consumed before anything else reads the request. */
export async function readPostForm(source: AsyncIterable<Buffer>, boundary: string): Promise<PostForm> {
  const it = source[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  let preData = 0;
  const fill = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await it.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
    return true;
  };
  /** Wait until `needle` is in the buffer; its index, or -1 at the end of the body. */
  const find = async (needle: Buffer, limit: number): Promise<number> => {
    for (;;) {
      const i = buf.indexOf(needle);
      if (i >= 0) return i;
      if (buf.length > limit + needle.length) throw new S3Error('MaxPostPreDataLengthExceededError');
      if (!(await fill())) return -1;
    }
  };
  const need = async (n: number): Promise<void> => {
    while (buf.length < n) if (!(await fill())) throw malformed();
  };

  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const start = await find(first, MAX_PRE_DATA);
  if (start < 0) throw malformed();
  buf = buf.subarray(start + first.length);
  const fields = new Map<string, string>();
  for (;;) {
    // After a boundary: `--` ends the form, CRLF starts a part.
    await need(2);
    if (buf[0] === 0x2d && buf[1] === 0x2d) return { fields, file: undefined };
    if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw malformed();
    buf = buf.subarray(2);
    const headEnd = await find(Buffer.from('\r\n\r\n'), MAX_PART_HEAD);
    if (headEnd < 0) throw malformed();
    const head = parsePartHead(buf.subarray(0, headEnd).toString('utf8'));
    buf = buf.subarray(headEnd + 4);
    if (head.name.toLowerCase() === 'file') {
      return { fields, file: { filename: head.filename ?? '', contentType: head.contentType, body: fileBody() } };
    }
    const end = await find(delimiter, MAX_PRE_DATA - preData);
    if (end < 0) throw malformed();
    preData += end;
    if (preData > MAX_PRE_DATA) throw new S3Error('MaxPostPreDataLengthExceededError');
    const name = head.name.toLowerCase();
    if (!fields.has(name)) fields.set(name, buf.subarray(0, end).toString('utf8'));
    buf = buf.subarray(end + delimiter.length);
  }

  // The file's bytes up to the next delimiter, holding back what could be its start.
  async function* fileBody(): AsyncGenerator<Buffer> {
    for (;;) {
      const i = buf.indexOf(delimiter);
      if (i >= 0) {
        if (i > 0) yield buf.subarray(0, i);
        buf = Buffer.alloc(0);
        return;
      }
      const safe = buf.length - (delimiter.length - 1);
      if (safe > 0) {
        const out = buf.subarray(0, safe);
        buf = buf.subarray(safe);
        yield out;
      }
      if (!(await fill())) throw new S3Error('IncompleteBody', { message: 'The POST body ended inside the file' });
    }
  }
}
