import type { Db } from './db.js';

/** Where `fillSyntheticObjects` puts its keys, and what each object looks like. */
export interface SyntheticFill {
  bucket: string;
  /** Key number `i` is `printf(keyFormat, i / perFolder, i % perFolder)` (SQLite printf). */
  keyFormat: string;
  perFolder: number;
  /** Versioned bucket: each object gets a random version id; otherwise "null". */
  versioned: boolean;
  size: number;
}

/**
 * Objects `from` to `to - 1` of a benchmark bucket, written set-wise in one transaction: the
 * rows a committed 4 KiB PutObject leaves (a live blob with its audit roots, the object's
 * latest version, its one part), so that a bucket of a million keys takes seconds to build
 * where one commit per object would take minutes. Only for `npm run bench:meta`.
 */
export function fillSyntheticObjects(db: Db, f: SyntheticFill, from: number, to: number, now = Date.now()): void {
  const series = 'WITH RECURSIVE n(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @to)';
  const blobId = `printf('%032x', o.id)`;
  db.transaction(() => {
    const { last } = db.prepare('SELECT COALESCE(MAX(id), 0) AS last FROM objects').get() as { last: number };
    db.prepare(`${series}
      INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, content_type, headers, user_meta, checksums, parts_count, acl)
      SELECT @bucket, printf(@keyFormat, i / @perFolder, i % @perFolder), ${f.versioned ? 'lower(hex(randomblob(16)))' : `'null'`}, 1, @size,
        lower(hex(randomblob(16))), @now, 'application/octet-stream', '{}', '{}', '{}', NULL, NULL FROM n`)
      .run({ from, to, bucket: f.bucket, keyFormat: f.keyFormat, perFolder: f.perFolder, size: f.size, now });
    db.prepare(`INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at)
      SELECT ${blobId}, o.size, 1048576, randomblob(72), @placement, 'live', @now FROM objects o WHERE o.id > @last`)
      .run({ last, now, placement: JSON.stringify(Array.from({ length: 16 }, (_, i) => `node-${i}`)) });
    db.prepare(`INSERT INTO blob_roots(blob_id, roots) SELECT ${blobId}, randomblob(512) FROM objects o WHERE o.id > @last`).run({ last });
    db.prepare(`INSERT INTO object_parts(object_id, part_number, blob_id, size, etag, checksums)
      SELECT o.id, 1, ${blobId}, o.size, o.etag, '{}' FROM objects o WHERE o.id > @last`).run({ last });
  })();
}
