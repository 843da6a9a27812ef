import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Make a directory's entries (a file created or renamed in it) durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A write that failed because the disk (or the user's quota on it) is full. */
export function isNoSpace(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
