/**
 * Decoder of `aws-chunked` request bodies, the four forms S3 clients send:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 *
 *   chunk   = hex-size [ ";chunk-signature=" sig ] *( ";" ext ) CRLF data CRLF
 *   last    = "0" [ ";chunk-signature=" sig ] CRLF
 *   trailer = *( name ":" value CRLF ) [ "x-amz-trailer-signature:" sig CRLF ] CRLF
 *
 * Chunk data is passed on as it arrives, before the chunk's signature can be checked (the
 * signature covers the whole chunk, and buffering whole chunks would make memory depend on the
 * client). A bad signature fails the stream before it ends, and the object pipeline commits
 * nothing unless the body ends cleanly, so unverified bytes never become an object.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PayloadError } from './errors.js';
import { chunkSignature, signaturesEqual, trailerSignature, type SigningContext } from './signing.js';

/** Longest chunk-size line we accept; a real one is under 100 bytes. */
const MAX_CHUNK_LINE = 4096;
/** Largest trailer section; a real one is one checksum and one signature. */
const MAX_TRAILER_BYTES = 16 * 1024;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: chunk signatures are checked. */
  signing?: SigningContext & { seedSignature: string };
  /** Whether trailing headers may follow the last chunk (…-TRAILER forms). */
  trailer: boolean;
  /** Trailer names the client announced in `x-amz-trailer` (lower case); others are refused. */
  declaredTrailers?: ReadonlySet<string>;
  /** `x-amz-decoded-content-length`, when sent: the decoded body must have exactly this length. */
  decodedLength?: number;
}

type State = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

function malformed(detail: string): PayloadError {
  return new PayloadError('InvalidRequest', `Malformed aws-chunked body: ${detail}`);
}

function badTrailer(detail: string): PayloadError {
  return new PayloadError('MalformedTrailerError', `The request contained trailing data that was not well-formed: ${detail}`);
}

function badSignature(): PayloadError {
  return new PayloadError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
}

function incomplete(): PayloadError {
  return new PayloadError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
}

/**
 * Transform: aws-chunked bytes in, object bytes out. After 'finish'/'end', `trailers` holds the
 * trailing headers (lower-case names, without the signature) and `decodedLength` the bytes out.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  decodedLength = 0;

  private state: State = 'size';
  /** Bytes of the current line (chunk-size line or trailer line), latin1. */
  private line = '';
  private remaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSig = '';
  private previousSig: string;
  private trailerBytes = 0;
  private trailerBlock = '';
  private trailerSig: string | undefined;

  constructor(private readonly opts: AwsChunkedOptions) {
    super();
    this.previousSig = opts.signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    // The final empty line of the trailer section may be missing: end of body ends it too.
    if (this.state === 'trailer' && this.line === '') {
      try {
        this.finishTrailers(true);
      } catch (err) {
        cb(err as Error);
        return;
      }
    }
    if (this.state !== 'done') {
      cb(incomplete());
      return;
    }
    if (this.opts.decodedLength !== undefined && this.decodedLength !== this.opts.decodedLength) {
      cb(incomplete());
      return;
    }
    cb();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'size':
        case 'trailer': {
          const lf = buf.indexOf(0x0a, i);
          const end = lf < 0 ? buf.length : lf;
          this.line += buf.toString('latin1', i, end);
          if (this.state === 'size' && this.line.length > MAX_CHUNK_LINE) throw malformed('chunk header too long');
          if (this.state === 'trailer' && this.trailerBytes + this.line.length > MAX_TRAILER_BYTES) throw badTrailer('trailers too large');
          if (lf < 0) return;
          i = lf + 1;
          if (!this.line.endsWith('\r')) throw malformed('line not terminated by CRLF');
          const line = this.line.slice(0, -1);
          this.line = '';
          if (this.state === 'size') this.onChunkHeader(line);
          else this.onTrailerLine(line);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          const data = buf.subarray(i, i + n);
          this.chunkHash?.update(data);
          this.remaining -= n;
          this.decodedLength += n;
          i += n;
          if (this.opts.decodedLength !== undefined && this.decodedLength > this.opts.decodedLength) {
            throw malformed('more data than x-amz-decoded-content-length');
          }
          this.push(data);
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (buf[i++] !== 0x0d) throw malformed('chunk data not followed by CRLF');
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (buf[i++] !== 0x0a) throw malformed('chunk data not followed by CRLF');
          this.endChunk();
          this.state = 'size';
          break;
        case 'done':
          throw malformed('data after the end of the body');
      }
    }
  }

  private onChunkHeader(line: string): void {
    const [sizeHex = '', ...extensions] = line.split(';');
    if (!/^[0-9a-fA-F]{1,13}$/.test(sizeHex)) throw malformed(`bad chunk size "${sizeHex.slice(0, 20)}"`);
    const size = parseInt(sizeHex, 16);
    let signature: string | undefined;
    for (const ext of extensions) {
      const eq = ext.indexOf('=');
      const name = (eq < 0 ? ext : ext.slice(0, eq)).trim();
      if (name === 'chunk-signature') signature = ext.slice(eq + 1).trim();
    }
    if (this.opts.signing) {
      if (signature === undefined || !/^[0-9a-fA-F]{64}$/.test(signature)) throw badSignature();
      this.chunkSig = signature;
      this.chunkHash = createHash('sha256');
    }
    if (size === 0) {
      this.endChunk();
      this.state = 'trailer';
    } else {
      this.remaining = size;
      this.state = 'data';
    }
  }

  /** Checks the signature of the chunk just read, then chains it. */
  private endChunk(): void {
    const signing = this.opts.signing;
    if (!signing || !this.chunkHash) return;
    const hash = this.chunkHash.digest('hex');
    this.chunkHash = undefined;
    const expected = chunkSignature(signing, this.previousSig, hash);
    if (!signaturesEqual(expected, this.chunkSig)) throw badSignature();
    this.previousSig = expected;
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      this.finishTrailers(false);
      return;
    }
    this.trailerBytes += line.length + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) throw badTrailer('expected "name:value"');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE) {
      if (!this.opts.signing || this.trailerSig !== undefined) throw badTrailer(`unexpected ${TRAILER_SIGNATURE}`);
      this.trailerSig = value;
      return;
    }
    if (this.trailerSig !== undefined) throw badTrailer(`a trailer after ${TRAILER_SIGNATURE}`);
    if (!this.opts.trailer || !this.opts.declaredTrailers?.has(name)) throw badTrailer(`"${name}" was not declared in x-amz-trailer`);
    if (this.trailers.has(name)) throw badTrailer(`"${name}" repeated`);
    this.trailers.set(name, value);
    this.trailerBlock += `${name}:${value}\n`;
  }

  /** `atEnd`: the body ended where the final empty line was due, which we tolerate. */
  private finishTrailers(atEnd: boolean): void {
    for (const name of this.opts.trailer ? this.opts.declaredTrailers ?? [] : []) {
      if (!this.trailers.has(name)) throw atEnd ? incomplete() : badTrailer(`"${name}" announced in x-amz-trailer was not sent`);
    }
    const signing = this.opts.signing;
    if (signing && this.opts.trailer) {
      if (this.trailerSig === undefined) throw atEnd ? incomplete() : badSignature();
      const expected = trailerSignature(signing, this.previousSig, this.trailerBlock);
      if (!signaturesEqual(expected, this.trailerSig)) throw badSignature();
    }
    this.state = 'done';
  }
}
