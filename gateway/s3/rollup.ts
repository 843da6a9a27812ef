import { compareKeys, prefixUpperBound } from '../meta/key-order.js';

/** A listing entry: a row, or a common prefix standing for every row under it. */
export type Rolled<R> = { kind: 'row'; row: R } | { kind: 'prefix'; prefix: string };

/** How one listing (objects, versions, uploads) pages through the store. */
export interface RollupSource<R, B> {
  /** Up to `limit` rows in listing order, starting at `bound`, with keys before `below` when given. */
  page(bound: B, limit: number, below: string | undefined): Promise<R[]>;
  keyOf(row: R): string;
  /** The bound that resumes just after `row`. */
  after(row: R): B;
  /** The bound that starts at the first row whose key is >= `key`. */
  from(key: string): B;
}

/** Rows read per query at most. */
export const PAGE = 1000;

/**
 * Rows under `prefix` in listing order, with everything between `prefix` and the next
 * `delimiter` rolled into one common prefix, as ListObjects, ListObjectVersions and
 * ListMultipartUploads answer. Pages through the store lazily, each query one index range
 * scan from the bound to the prefix's upper bound.
 *
 * Common prefixes cost one seek each: once a row rolls up into one, the scan jumps past every
 * key under it (to the prefix's upper bound) instead of reading them, so the top level of a
 * million keys in a thousand folders is a thousand short queries. With a delimiter, a query
 * first asks for one row (after a jump it is likely another common prefix) and the size
 * doubles while rows keep coming as plain keys, so rows read and then skipped stay at most
 * about the rows returned.
 * `want` is how many entries the caller will take (MaxKeys + 1 to tell IsTruncated): no query
 * reads more rows than could still be returned.
 */
export async function* rollUp<R, B>(
  src: RollupSource<R, B>, prefix: string, delimiter: string, start: B, startKey: string, want = Infinity,
): AsyncGenerator<Rolled<R>> {
  const below = prefix ? prefixUpperBound(prefix) ?? undefined : undefined;
  let bound = prefix && compareKeys(startKey, prefix) < 0 ? src.from(prefix) : start;
  let given = 0;
  let run = delimiter ? 1 : PAGE;
  while (given < want) {
    const limit = Math.max(1, Math.min(run, PAGE, want - given));
    const rows = await src.page(bound, limit, below);
    let jumped = false;
    for (const row of rows) {
      const key = src.keyOf(row);
      // The query's range keeps every row under the prefix; this only guards that promise.
      if (!key.startsWith(prefix)) return;
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (at >= 0) {
        const cp = key.slice(0, at + delimiter.length);
        given++;
        yield { kind: 'prefix', prefix: cp };
        const upper = prefixUpperBound(cp);
        if (upper === null) return;
        bound = src.from(upper);
        jumped = true;
        break;
      }
      given++;
      yield { kind: 'row', row };
      bound = src.after(row);
    }
    if (jumped) {
      run = 1;
      continue;
    }
    if (rows.length < limit) return;
    run = delimiter ? run * 2 : PAGE;
  }
}

/**
 * Whether `marker` is a common prefix of this listing (what a NextMarker / NextKeyMarker
 * names when a page ended on one): under `prefix`, with the first `delimiter` after the
 * prefix at its very end. A key that merely ends with the delimiter ("photos/" listed under
 * the prefix "photos/") is not one, and paging on from it must not skip the keys after it.
 */
export function isCommonPrefix(marker: string, prefix: string, delimiter: string): boolean {
  if (!delimiter || !marker.startsWith(prefix)) return false;
  const at = marker.indexOf(delimiter, prefix.length);
  return at >= 0 && at + delimiter.length === marker.length;
}
