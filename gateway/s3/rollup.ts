import { prefixUpperBound } from '../meta/store.js';

/** A listing entry: a row, or a common prefix standing for every row under it. */
export type Rolled<R> = { kind: 'row'; row: R } | { kind: 'prefix'; prefix: string };

/** How one listing (objects, versions, uploads) pages through the store. */
export interface RollupSource<R, B> {
  /** Up to `limit` rows in listing order, starting at `bound`. */
  page(bound: B, limit: number): R[];
  keyOf(row: R): string;
  /** The bound that resumes just after `row`. */
  after(row: R): B;
  /** The bound that starts at the first row whose key is >= `key`. */
  from(key: string): B;
}

const PAGE = 1000;

/**
 * Rows under `prefix` in listing order, with everything between `prefix` and the next
 * `delimiter` rolled into one common prefix, as ListObjects, ListObjectVersions and
 * ListMultipartUploads answer. Pages through the store lazily; after a common prefix it
 * jumps past every key under it instead of reading them.
 */
export function* rollUp<R, B>(src: RollupSource<R, B>, prefix: string, delimiter: string, start: B, startKey: string): Generator<Rolled<R>> {
  let bound = prefix && startKey < prefix ? src.from(prefix) : start;
  for (;;) {
    const rows = src.page(bound, PAGE);
    if (!rows.length) return;
    let jumped = false;
    for (const row of rows) {
      const key = src.keyOf(row);
      if (!key.startsWith(prefix)) {
        if (key > prefix) return; // past every key under the prefix
        continue;
      }
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (at >= 0) {
        const cp = key.slice(0, at + delimiter.length);
        yield { kind: 'prefix', prefix: cp };
        const upper = prefixUpperBound(cp);
        if (upper === null) return;
        bound = src.from(upper);
        jumped = true;
        break;
      }
      yield { kind: 'row', row };
      bound = src.after(row);
    }
    if (!jumped && rows.length < PAGE) return;
  }
}
