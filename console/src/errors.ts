/** An error as the page shows it: a sentence saying what happened and what to do next. */
export class ConsoleError extends Error {
  constructor(message: string, readonly code?: string, readonly status?: number) {
    super(message);
    this.name = 'ConsoleError';
  }
}

const RETRY = 'Wait a moment and try again; if it goes on, look at the gateway\'s log.';

/** S3 error codes (from the XML body) as sentences; `m` is the gateway's own message. */
const SENTENCES: Record<string, (m: string) => string> = {
  AccessDenied: (m) => `Your keys may not do this (${m}). Ask the administrator for access, or sign in with other keys.`,
  InvalidAccessKeyId: () => 'This access key id is unknown or disabled. Check it, or ask the administrator for a key.',
  SignatureDoesNotMatch: () => 'The secret does not match this access key id. Check the secret and try again.',
  RequestTimeTooSkewed: () => 'This computer\'s clock is more than 15 minutes away from the gateway\'s. Set the clock right, then sign in again.',
  BucketNotEmpty: () => 'The bucket is not empty. Delete its objects (and, in a versioned bucket, their old versions and delete markers) first, then delete the bucket.',
  BucketAlreadyExists: () => 'A bucket with this name already exists. Choose another name.',
  BucketAlreadyOwnedByYou: () => 'You already have a bucket with this name.',
  InvalidBucketName: () => 'This is not a valid bucket name: use 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.',
  TooManyBuckets: () => 'You have as many buckets as you may have. Delete one you no longer need first.',
  NoSuchBucket: () => 'This bucket does not exist (any more). Go back to the bucket list.',
  NoSuchKey: () => 'This object does not exist (any more). Refresh the list.',
  NoSuchVersion: () => 'This version does not exist (any more). Refresh the list of versions.',
  NoSuchUpload: () => 'The gateway no longer knows this upload (it was completed or aborted). Start the upload again.',
  EntityTooSmall: () => 'A part of this upload was smaller than 5 MiB. Start the upload again.',
  EntityTooLarge: () => 'This file is larger than the gateway accepts in one request.',
  QuotaExceeded: (m) => `The bucket's quota has no room for this (${m}). Delete objects or ask the administrator to raise the quota.`,
  MalformedPolicy: (m) => `The policy is not valid: ${m}. Fix it and save again.`,
  MalformedXML: (m) => `The document is not valid: ${m}. Fix it and save again.`,
  InvalidArgument: (m) => `${m}. Change the value and try again.`,
  InvalidRequest: (m) => `${m}.`,
  InvalidBucketState: (m) => `${m}.`,
  ObjectLockConfigurationNotFoundError: () => 'Object Lock is not enabled on this bucket. It can only be chosen when the bucket is created.',
  InvalidObjectState: (m) => `${m}.`,
  PreconditionFailed: () => 'The object changed while you were looking at it. Refresh and try again.',
  SlowDown: () => `The gateway is busy. ${RETRY}`,
  ServiceUnavailable: () => `The gateway cannot do this now (too few shard-stores answer?). ${RETRY}`,
  InternalError: () => `The gateway failed to do this. ${RETRY}`,
};

/** A sentence for an S3 error code, or a generic one with the gateway's message. */
export function sentence(code: string, message: string, status?: number): string {
  const m = message.replace(/\.$/, '');
  const known = SENTENCES[code];
  if (known) return known(m || code);
  if (status === 403) return SENTENCES.AccessDenied!(m || code);
  return `${m || code} (${code}). ${RETRY}`;
}

export function fromS3Xml(status: number, body: string): ConsoleError {
  const doc = new DOMParser().parseFromString(body, 'application/xml');
  const code = doc.querySelector('Error > Code')?.textContent ?? (status === 404 ? 'NoSuchKey' : status === 403 ? 'AccessDenied' : `HTTP${status}`);
  const message = doc.querySelector('Error > Message')?.textContent ?? '';
  return new ConsoleError(sentence(code, message, status), code, status);
}

export function fromAdminBody(status: number, body: string): ConsoleError {
  let code = `HTTP${status}`;
  let message = '';
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    code = e?.code ?? code;
    message = e?.message ?? '';
  } catch {
    message = body.slice(0, 200);
  }
  if (code === 'AccessDenied') return new ConsoleError('Only the root credentials may do this.', code, status);
  // The admin API's messages are already sentences that name the command to run.
  return new ConsoleError(message ? `${message.replace(/\.$/, '')}.` : sentence(code, message, status), code, status);
}

export function networkError(err: unknown): ConsoleError {
  return new ConsoleError(`The gateway did not answer (${err instanceof Error ? err.message : String(err)}). Check that it is running, then try again.`, 'NetworkError');
}

export function messageOf(err: unknown): string {
  return err instanceof ConsoleError ? err.message : err instanceof Error ? `${err.message}. Reload the page and try again.` : String(err);
}
