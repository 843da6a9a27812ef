import { AuthError } from '../../gateway/auth/errors.js';
import { S3Error } from '../../gateway/s3/errors.js';

/** The S3 error code `fn` throws (S3Error or AuthError), or 'none' when it returns; other errors propagate. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error || err instanceof AuthError) return err.code;
    throw err;
  }
  return 'none';
}

/** codeOf for an asynchronous `fn`. */
export async function codeOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof S3Error || err instanceof AuthError) return err.code;
    throw err;
  }
  return 'none';
}
