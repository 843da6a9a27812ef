import { S3Error } from './errors.js';

/**
 * A streaming reader of the multipart/form-data body of a browser POST upload
 * (RFC 7578): the fields before the `file` part are read whole (they are small and
 * bounded), the file is streamed, and whatever follows it is ignored, as AWS S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */

/**
 * AWS S3 refuses POST forms whose fields before the file exceed 20 KB. Everything before the
 * file's bytes counts: boundaries, part headers, names and values (the gateway reads all of it
 * before it can authenticate the form, so this is what an anonymous client can make it hold).
 */
export const MAX_PRE_DATA = 20 * 1024;
/** Parts before the file; a real form has a dozen or two. */
export const MAX_FORM_FIELDS = 200;
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
  const params = dispositionParams(disposition.slice('form-data'.length));
  const name = params.get('name');
  if (name === undefined) throw malformed();
  return { name, filename: params.get('filename'), contentType };
}

/**
 * The parameters after `form-data` in a Content-Disposition (names lower-cased, the first of a
 * repeated name wins). Browsers and fetch write names and filenames as the HTML form encoding
 * says: in quotes, with `"`, CR and LF percent-escaped and backslashes left as they are, so a
 * file picked as `C:\dir\` is sent as `filename="C:\dir\"`. A quoted value therefore ends at
 * the first `"` that closes the parameter (followed by `;` or the end), and a backslash is an
 * escape only in a value that holds quotes too, which the HTML encoding never writes: that is
 * an RFC 2616 quoted-string from another client (`"a \"b\".txt"`).
 * https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#multipart-form-data
 */
function dispositionParams(rest: string): Map<string, string> {
  const params = new Map<string, string>();
  const at = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = i;
    const m = re.exec(rest);
    if (m) i = m.index + m[0].length;
    return m;
  };
  let i = 0;
  for (;;) {
    at(/[ \t]*/y);
    if (i >= rest.length) return params;
    const name = at(/;[ \t]*([^=;\s]*)[ \t]*(=[ \t]*)?/y);
    if (!name) throw malformed();
    if (name[2] === undefined) continue;
    let value: string;
    if (rest[i] === '"') {
      const start = ++i;
      const closing = at(/"[ \t]*(?=;|$)/g);
      if (!closing) throw malformed();
      const raw = rest.slice(start, closing.index);
      value = raw.includes('"') ? raw.replace(/\\(.)/g, '$1') : raw;
    } else {
      value = at(/[^;\s]*/y)![0];
    }
    const key = name[1]!.toLowerCase();
    if (key && !params.has(key)) params.set(key, value);
  }
}

/** Read the fields and open the file of a POST form. The file's body must be consumed before anything else reads the request. */
export async function readPostForm(source: AsyncIterable<Buffer>, boundary: string): Promise<PostForm> {
  const it = source[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  /** Bytes of the body consumed before the file. */
  let preData = 0;
  const tooLarge = (): S3Error => new S3Error('MaxPostPreDataLengthExceededError');
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
  /** Take `n` bytes off the front, counted against the pre-file limit. */
  const consume = (n: number): void => {
    preData += n;
    if (preData > MAX_PRE_DATA) throw tooLarge();
    buf = buf.subarray(n);
  };
  /** Wait until `needle` is in the buffer within what the limits leave; its index, or -1 at the end of the body. */
  const find = async (needle: Buffer, limit = Infinity): Promise<number> => {
    for (;;) {
      const within = Math.min(limit, MAX_PRE_DATA - preData) + needle.length;
      const i = buf.subarray(0, within).indexOf(needle);
      if (i >= 0) return i;
      if (buf.length >= within) throw tooLarge();
      if (!(await fill())) return -1;
    }
  };
  const need = async (n: number): Promise<void> => {
    while (buf.length < n) if (!(await fill())) throw malformed();
  };

  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const start = await find(first);
  if (start < 0) throw malformed();
  consume(start + first.length);
  const fields = new Map<string, string>();
  for (let parts = 0; ; parts++) {
    // After a boundary: `--` ends the form, CRLF starts a part.
    await need(2);
    if (buf[0] === 0x2d && buf[1] === 0x2d) return { fields, file: undefined };
    if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw malformed();
    if (parts >= MAX_FORM_FIELDS) throw tooLarge();
    consume(2);
    const headEnd = await find(Buffer.from('\r\n\r\n'), MAX_PART_HEAD);
    if (headEnd < 0) throw malformed();
    const head = parsePartHead(buf.subarray(0, headEnd).toString('utf8'));
    consume(headEnd + 4);
    if (head.name.toLowerCase() === 'file') {
      return { fields, file: { filename: head.filename ?? '', contentType: head.contentType, body: fileBody() } };
    }
    const end = await find(delimiter);
    if (end < 0) throw malformed();
    const name = head.name.toLowerCase();
    if (!fields.has(name)) fields.set(name, buf.subarray(0, end).toString('utf8'));
    consume(end + delimiter.length);
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
