import { base64, children, hex, objectPath, parseXml, s3, s3Xml, sha256, signForXhr, text } from './api';
import { ConsoleError, fromS3Xml, messageOf, networkError } from './errors';
import { escapeXml } from './s3ops';

/**
 * Uploads from the page. Files up to MULTIPART_FROM go in one PUT; larger ones as a multipart
 * upload of PART_SIZE parts, PARALLEL_PARTS at a time, so memory stays at a few parts whatever
 * the file. Every body carries its SHA-256 (signed, and as x-amz-checksum-sha256, which an
 * Object Lock bucket requires). A multipart upload that fails or is cancelled is aborted; one
 * the page lost to a reload can be resumed by choosing the same file again (resume records).
 */
export const PART_SIZE = 8 * 1024 * 1024;
export const MULTIPART_FROM = 16 * 1024 * 1024;
const PARALLEL_PARTS = 3;
const PART_ATTEMPTS = 3;

export type UploadState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface UploadJob {
  id: number;
  bucket: string;
  key: string;
  file: File;
  loaded: number;
  state: UploadState;
  error?: string;
  /** Parts found already uploaded when the upload was resumed. */
  resumedParts?: number;
  /** Aborted by cancel(). */
  readonly signal: AbortSignal;
  cancel(): void;
}

type Listener = () => void;

// --- Resume records: the upload id and the file's identity, never a secret. ---

const RESUME_PREFIX = 'shardgate.upload.';

export interface ResumeRecord {
  uploadId: string;
  bucket: string;
  key: string;
  size: number;
  lastModified: number;
  name: string;
}

function resumeKey(bucket: string, key: string, file: Pick<File, 'name' | 'size' | 'lastModified'>): string {
  return RESUME_PREFIX + JSON.stringify([bucket, key, file.name, file.size, file.lastModified]);
}

function loadResume(bucket: string, key: string, file: File): ResumeRecord | undefined {
  try {
    const raw = localStorage.getItem(resumeKey(bucket, key, file));
    return raw ? (JSON.parse(raw) as ResumeRecord) : undefined;
  } catch {
    return undefined;
  }
}

function saveResume(r: ResumeRecord, file: File): void {
  try {
    localStorage.setItem(resumeKey(r.bucket, r.key, file), JSON.stringify(r));
  } catch {
    // Storage full or refused: the upload still works, it just cannot be resumed.
  }
}

function dropResume(bucket: string, key: string, file: Pick<File, 'name' | 'size' | 'lastModified'>): void {
  try {
    localStorage.removeItem(resumeKey(bucket, key, file));
  } catch {
    // as above
  }
}

/** Give up an interrupted upload: abort it on the gateway (its parts are freed) and forget it. */
export async function abortInterrupted(r: ResumeRecord): Promise<void> {
  await s3('DELETE', objectPath(r.bucket, r.key), { query: { uploadId: r.uploadId }, accept: [404] });
  dropResume(r.bucket, r.key, r);
}

/** Uploads the page knows of that a reload interrupted: shown so the user can pick the files again. */
export function pendingResumes(): ResumeRecord[] {
  const out: ResumeRecord[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (!k?.startsWith(RESUME_PREFIX)) continue;
    try {
      out.push(JSON.parse(localStorage.getItem(k) ?? '') as ResumeRecord);
    } catch {
      localStorage.removeItem(k);
    }
  }
  return out;
}

// --- Sending one body with progress (fetch has no upload progress; XMLHttpRequest does). ---

interface XhrAnswer {
  status: number;
  /** The body's SHA-256, base64 (what S3 calls ChecksumSHA256). */
  checksum: string;
  body: string;
  header(name: string): string | null;
}

async function send(method: string, path: string, query: Record<string, string> | undefined, body: ArrayBuffer,
  headers: Record<string, string>, onProgress: (loaded: number) => void, signal: AbortSignal): Promise<XhrAnswer> {
  const digest = await sha256(body);
  const signed = await signForXhr(method, path, query, { ...headers, 'x-amz-content-sha256': hex(digest), 'x-amz-checksum-sha256': base64(digest) });
  return new Promise<XhrAnswer>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, signed.url);
    signed.headers.forEach((v, k) => {
      if (k !== 'host' && k !== 'content-length') xhr.setRequestHeader(k, v);
    });
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => resolve({ status: xhr.status, checksum: base64(digest), body: xhr.responseText, header: (n) => xhr.getResponseHeader(n) });
    xhr.onerror = () => reject(networkError(new Error('the connection failed')));
    xhr.onabort = () => reject(new ConsoleError('Cancelled.', 'Cancelled'));
    if (signal.aborted) return reject(new ConsoleError('Cancelled.', 'Cancelled'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

function check(a: XhrAnswer): XhrAnswer {
  if (a.status >= 200 && a.status < 300) return a;
  throw fromS3Xml(a.status, a.body);
}

// --- The queue. ---

export class Uploader {
  readonly jobs: UploadJob[] = [];
  private listeners = new Set<Listener>();
  private nextId = 1;
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parallelFiles = 2;
  /** Called when a file of a bucket finishes (the object browser refreshes). */
  onDone: ((bucket: string) => void) | undefined;

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  add(bucket: string, files: Array<{ key: string; file: File }>): void {
    for (const { key, file } of files) {
      const ctl = new AbortController();
      const job: UploadJob = { id: this.nextId++, bucket, key, file, loaded: 0, state: 'queued', signal: ctl.signal, cancel: () => ctl.abort() };
      ctl.signal.addEventListener('abort', () => {
        if (job.state === 'queued') {
          job.state = 'cancelled';
          this.changed();
        }
      });
      this.jobs.push(job);
    }
    this.changed();
    this.pump();
  }

  /** Cancel every upload and wait until their multipart uploads are aborted (before sign-out drops the keys). */
  async cancelAll(): Promise<void> {
    for (const j of this.jobs) if (j.state === 'queued' || j.state === 'uploading') j.cancel();
    await Promise.allSettled([...this.inFlight]);
    this.jobs.splice(0);
    this.changed();
  }

  clearFinished(): void {
    const keep = this.jobs.filter((j) => j.state === 'queued' || j.state === 'uploading');
    this.jobs.splice(0, this.jobs.length, ...keep);
    this.changed();
  }

  totals(): { loaded: number; size: number; active: number } {
    let loaded = 0;
    let size = 0;
    let active = 0;
    for (const j of this.jobs) {
      if (j.state === 'cancelled') continue;
      loaded += j.loaded;
      size += j.file.size;
      if (j.state === 'queued' || j.state === 'uploading') active++;
    }
    return { loaded, size, active };
  }

  private pump(): void {
    while (this.running < this.parallelFiles) {
      const job = this.jobs.find((j) => j.state === 'queued');
      if (!job) return;
      this.running++;
      job.state = 'uploading';
      this.changed();
      const run = this.run(job).finally(() => {
        this.inFlight.delete(run);
        this.running--;
        this.changed();
        this.pump();
      });
      this.inFlight.add(run);
    }
  }

  private async run(job: UploadJob): Promise<void> {
    const { signal } = job;
    try {
      if (job.file.size < MULTIPART_FROM) await this.single(job, signal);
      else await this.multipart(job, signal);
      job.state = 'done';
      job.loaded = job.file.size;
      this.onDone?.(job.bucket);
    } catch (err) {
      job.state = signal.aborted ? 'cancelled' : 'failed';
      job.error = signal.aborted ? undefined : messageOf(err);
    }
  }

  private async single(job: UploadJob, signal: AbortSignal): Promise<void> {
    const body = await job.file.arrayBuffer();
    const headers: Record<string, string> = { 'content-type': job.file.type || 'application/octet-stream' };
    check(await send('PUT', objectPath(job.bucket, job.key), undefined, body, headers, (n) => {
      job.loaded = n;
      this.changed();
    }, signal));
  }

  private async multipart(job: UploadJob, signal: AbortSignal): Promise<void> {
    const { bucket, key, file } = job;
    const path = objectPath(bucket, key);
    const count = Math.ceil(file.size / PART_SIZE);
    const done = new Map<number, string>();
    const checksums = new Map<number, string>();
    let uploadId: string | undefined;
    const old = loadResume(bucket, key, file);
    if (old) {
      try {
        for (const [n, p] of await listUploadedParts(path, old.uploadId, file.size)) {
          done.set(n, p.etag);
          checksums.set(n, p.checksum);
        }
        uploadId = old.uploadId;
        job.resumedParts = done.size;
      } catch {
        // Gone (completed, aborted or expired): start again.
        dropResume(bucket, key, file);
        done.clear();
        checksums.clear();
      }
    }
    if (!uploadId) {
      const doc = await s3Xml('POST', path, {
        query: { uploads: '' }, headers: { 'content-type': file.type || 'application/octet-stream', 'x-amz-checksum-algorithm': 'SHA256' },
      });
      uploadId = text(doc, 'UploadId');
      if (!uploadId) throw new ConsoleError('The gateway did not give an upload id. Try again.');
      saveResume({ uploadId, bucket, key, size: file.size, lastModified: file.lastModified, name: file.name }, file);
    }
    const id = uploadId;
    const progress = new Map<number, number>();
    const report = (): void => {
      let n = 0;
      for (const [p] of done) n += partLength(p, file.size);
      for (const v of progress.values()) n += v;
      job.loaded = Math.min(n, file.size);
      this.changed();
    };
    report();
    const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !done.has(n));
    const worker = async (): Promise<void> => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        const part = n;
        const start = (part - 1) * PART_SIZE;
        const body = await file.slice(start, Math.min(file.size, start + PART_SIZE)).arrayBuffer();
        for (let attempt = 1; ; attempt++) {
          try {
            const a = check(await send('PUT', path, { partNumber: String(part), uploadId: id }, body, {}, (l) => {
              progress.set(part, l);
              report();
            }, signal));
            done.set(part, a.header('etag') ?? '');
            checksums.set(part, a.checksum);
            progress.delete(part);
            report();
            break;
          } catch (err) {
            progress.delete(part);
            // A refusal (4xx) will not change on a retry; a lost connection or 5xx may.
            const status = err instanceof ConsoleError ? err.status : undefined;
            if (signal.aborted || attempt >= PART_ATTEMPTS || (status !== undefined && status < 500)) throw err;
          }
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, todo.length) }, worker));
      const parts = [...done.entries()].sort(([a], [b]) => a - b);
      const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts
        .map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${escapeXml(etag)}</ETag>${checksums.get(n) ? `<ChecksumSHA256>${checksums.get(n)}</ChecksumSHA256>` : ''}</Part>`)
        .join('')}</CompleteMultipartUpload>`;
      // CompleteMultipartUpload can answer 200 with an error in its body.
      const res = await s3('POST', path, { query: { uploadId: id }, body, checksum: false });
      const answer = await res.text();
      const doc = parseXml(answer);
      if (doc.documentElement.localName === 'Error') throw fromS3Xml(500, answer);
      dropResume(bucket, key, file);
    } catch (err) {
      // A failed or cancelled upload must not leave its parts behind.
      dropResume(bucket, key, file);
      await s3('DELETE', path, { query: { uploadId: id }, accept: [404] }).catch(() => undefined);
      throw err;
    }
  }
}

function partLength(part: number, size: number): number {
  return Math.min(PART_SIZE, size - (part - 1) * PART_SIZE);
}

/** Parts of a resumed upload that are whole (the right size); the others are sent again. */
async function listUploadedParts(path: string, uploadId: string, size: number): Promise<Map<number, { etag: string; checksum: string }>> {
  const out = new Map<number, { etag: string; checksum: string }>();
  let marker: string | undefined;
  for (;;) {
    const doc = await s3Xml('GET', path, { query: { uploadId, 'part-number-marker': marker } });
    for (const p of children(doc, 'Part')) {
      const n = Number(text(p, 'PartNumber'));
      const checksum = text(p, 'ChecksumSHA256');
      // Without its checksum a part cannot be listed in the completion: it is sent again.
      if (checksum && Number(text(p, 'Size')) === partLength(n, size)) out.set(n, { etag: text(p, 'ETag') ?? '', checksum });
    }
    if (text(doc, 'IsTruncated') !== 'true') return out;
    marker = text(doc, 'NextPartNumberMarker');
  }
}

export const uploader = new Uploader();
