/**
 * Numbered schema migrations. Append only: a released migration is never edited, a change
 * is a new entry. `PRAGMA user_version` records how far a database has come.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE buckets (
        name        TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        region      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      );

      -- Shard-store servers. Blobs name their placement by node id, so a node may change address.
      CREATE TABLE nodes (
        id          TEXT PRIMARY KEY,
        url         TEXT NOT NULL,
        zone        TEXT NOT NULL DEFAULT 'zone-1',
        capacity    INTEGER,
        free_bytes  INTEGER,
        state       TEXT NOT NULL DEFAULT 'active',
        score       REAL NOT NULL DEFAULT 1.0,
        added_at    INTEGER NOT NULL,
        last_seen   INTEGER
      );

      -- An encrypted, erasure-coded byte stream: the body of a single-part object or of one part.
      -- state: 'writing' until its object/part row commits (a crash leaves it for the sweeper),
      -- then 'live'; 'garbage' once nothing refers to it and its shard files await deletion.
      CREATE TABLE blobs (
        id            TEXT PRIMARY KEY,
        size          INTEGER NOT NULL,
        segment_size  INTEGER NOT NULL,
        wrapped_key   BLOB NOT NULL,
        placement     TEXT NOT NULL,
        state         TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        -- When it became garbage: the collector waits a grace period so reads already under
        -- way on a just-overwritten object can finish.
        garbage_at    INTEGER
      );
      CREATE INDEX blobs_by_state ON blobs(state, garbage_at, created_at);

      -- One row per object version. Only the latest version of a key is listed and read
      -- without a versionId; versioning (a later migration) adds delete markers and history.
      CREATE TABLE objects (
        id             INTEGER PRIMARY KEY,
        bucket         TEXT NOT NULL REFERENCES buckets(name),
        key            TEXT NOT NULL,
        version_id     TEXT NOT NULL,
        is_latest      INTEGER NOT NULL,
        size           INTEGER NOT NULL,
        etag           TEXT NOT NULL,
        last_modified  INTEGER NOT NULL,
        content_type   TEXT,
        headers        TEXT NOT NULL DEFAULT '{}',
        user_meta      TEXT NOT NULL DEFAULT '{}',
        checksums      TEXT NOT NULL DEFAULT '{}',
        parts_count    INTEGER
      );
      CREATE UNIQUE INDEX objects_latest ON objects(bucket, key) WHERE is_latest = 1;
      CREATE INDEX objects_versions ON objects(bucket, key, id);

      -- The blobs of an object version, in order. A single-part object has one part (number 1).
      CREATE TABLE object_parts (
        object_id    INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
        part_number  INTEGER NOT NULL,
        blob_id      TEXT REFERENCES blobs(id),
        size         INTEGER NOT NULL,
        etag         TEXT NOT NULL,
        checksums    TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (object_id, part_number)
      );

      CREATE TABLE uploads (
        id            TEXT PRIMARY KEY,
        bucket        TEXT NOT NULL REFERENCES buckets(name),
        key           TEXT NOT NULL,
        owner         TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        content_type  TEXT,
        headers       TEXT NOT NULL DEFAULT '{}',
        user_meta     TEXT NOT NULL DEFAULT '{}',
        checksum_algorithm TEXT,
        checksum_type TEXT
      );
      CREATE INDEX uploads_by_key ON uploads(bucket, key, created_at);

      CREATE TABLE upload_parts (
        upload_id     TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        part_number   INTEGER NOT NULL,
        blob_id       TEXT REFERENCES blobs(id),
        size          INTEGER NOT NULL,
        etag          TEXT NOT NULL,
        checksums     TEXT NOT NULL DEFAULT '{}',
        last_modified INTEGER NOT NULL,
        PRIMARY KEY (upload_id, part_number)
      );

      -- Pieces that missed the write quorum or failed a read/audit, for the repair worker.
      CREATE TABLE repair_queue (
        blob_id      TEXT NOT NULL,
        piece        INTEGER NOT NULL,
        reason       TEXT NOT NULL,
        enqueued_at  INTEGER NOT NULL,
        PRIMARY KEY (blob_id, piece)
      );

      CREATE TABLE access_keys (
        access_key_id  TEXT PRIMARY KEY,
        secret         TEXT NOT NULL,
        owner          TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        disabled       INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    version: 2,
    name: 'node states, repair jobs, orphaned shard files',
    sql: `
      -- Why and since when a node is in its state, for \`shardgate admin nodes\`.
      ALTER TABLE nodes ADD COLUMN state_since INTEGER;
      ALTER TABLE nodes ADD COLUMN state_reason TEXT;

      -- One row per repair job (a scheduled pass, an admin request, a drain). The running
      -- one resumes from \`cursor\` (the last blob id it finished) after a restart.
      CREATE TABLE repair_jobs (
        id              INTEGER PRIMARY KEY,
        trigger         TEXT NOT NULL,
        threshold       INTEGER NOT NULL,
        state           TEXT NOT NULL,
        pass            INTEGER NOT NULL DEFAULT 1,
        cursor          TEXT NOT NULL DEFAULT '',
        started_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        finished_at     INTEGER,
        blobs_total     INTEGER NOT NULL DEFAULT 0,
        blobs_checked   INTEGER NOT NULL DEFAULT 0,
        blobs_repaired  INTEGER NOT NULL DEFAULT 0,
        blobs_failed    INTEGER NOT NULL DEFAULT 0,
        pieces_rebuilt  INTEGER NOT NULL DEFAULT 0,
        bytes_read      INTEGER NOT NULL DEFAULT 0,
        bytes_written   INTEGER NOT NULL DEFAULT 0,
        active_ms       INTEGER NOT NULL DEFAULT 0,
        message         TEXT
      );
      CREATE INDEX repair_jobs_by_state ON repair_jobs(state, id);

      -- Shard files no placement refers to any more (a piece moved away, a repair that lost
      -- a race with a delete), to delete from their node once \`not_before\` has passed.
      CREATE TABLE shard_orphans (
        node_id     TEXT NOT NULL,
        shard_id    TEXT NOT NULL,
        not_before  INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node_id, shard_id)
      );
      CREATE INDEX shard_orphans_due ON shard_orphans(not_before);
    `,
  },
  {
    version: 3,
    name: 'tags on objects, uploads and buckets',
    sql: `
      -- JSON array of {"key","value"} in the order the client sent them; NULL means no tag set
      -- (GetBucketTagging answers NoSuchTagSet then). An upload keeps the x-amz-tagging of its
      -- CreateMultipartUpload until CompleteMultipartUpload hands it to the object.
      ALTER TABLE objects ADD COLUMN tags TEXT;
      ALTER TABLE uploads ADD COLUMN tags TEXT;
      ALTER TABLE buckets ADD COLUMN tags TEXT;
    `,
  },
  {
    version: 4,
    name: 'audit roots, audit results, signed report log, metadata snapshots',
    sql: `
      -- The hash-tree root of each of a blob's 16 shard files (16 x 32 bytes, piece order),
      -- computed from the encoder's piece hashes at write time: what audits check answers against.
      CREATE TABLE blob_roots (
        blob_id  TEXT PRIMARY KEY,
        roots    BLOB NOT NULL
      );

      -- One row per challenged shard file. outcome: pass | wrong | missing | timeout | error.
      CREATE TABLE audits (
        id        INTEGER PRIMARY KEY,
        node_id   TEXT NOT NULL,
        at        INTEGER NOT NULL,
        shard_id  TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        detail    TEXT
      );
      CREATE INDEX audits_by_node ON audits(node_id, at);

      -- The public report log: append only, each entry a JWS whose payload names the
      -- previous entry's hash, so a removed, altered or reordered entry breaks the chain.
      CREATE TABLE report_log (
        seq           INTEGER PRIMARY KEY,
        node_id       TEXT NOT NULL,
        period_start  INTEGER NOT NULL,
        period_end    INTEGER NOT NULL,
        jws           TEXT NOT NULL,
        hash          TEXT NOT NULL
      );

      -- Metadata snapshots written to the shard-stores; the newest few are kept.
      CREATE TABLE snapshots (
        id          INTEGER PRIMARY KEY,
        blob_id     TEXT NOT NULL,
        size        INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
      );

      -- Small state of the trust layer that must survive a restart (scrub cursor, report period).
      CREATE TABLE trust_state (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'versioning, object lock, lifecycle',
    sql: `
      -- NULL: versioning never configured (every write is the "null" version and replaces it);
      -- 'Enabled' or 'Suspended' once PutBucketVersioning ran. It never returns to NULL, as on S3.
      ALTER TABLE buckets ADD COLUMN versioning TEXT;
      -- Object Lock: NULL when the bucket was not created lock-enabled, else the JSON
      -- {"rule": {"mode", "days" | "years"}} of its configuration ({} without a default rule).
      ALTER TABLE buckets ADD COLUMN object_lock TEXT;
      -- The lifecycle configuration as JSON rules (NULL: none).
      ALTER TABLE buckets ADD COLUMN lifecycle TEXT;

      -- A delete marker is a version with no data (no object_parts rows).
      ALTER TABLE objects ADD COLUMN is_delete_marker INTEGER NOT NULL DEFAULT 0;
      -- Retention: 'GOVERNANCE' | 'COMPLIANCE' with the retain-until time (ms); NULL when none.
      ALTER TABLE objects ADD COLUMN lock_mode TEXT;
      ALTER TABLE objects ADD COLUMN lock_until INTEGER;
      -- Legal hold: NULL never set, 0 OFF, 1 ON.
      ALTER TABLE objects ADD COLUMN legal_hold INTEGER;
      CREATE INDEX objects_by_version ON objects(bucket, key, version_id);

      -- The lock an upload's CreateMultipartUpload asked for, as JSON, applied on completion.
      ALTER TABLE uploads ADD COLUMN object_lock TEXT;
    `,
  },
  {
    version: 6,
    name: 'access: sealed key secrets, canned ACLs, bucket policies, bucket CORS',
    sql: `
      -- A key's secret sealed with the master key (AES-256-GCM), so a copy of meta.db alone
      -- signs nothing; \`secret\` stays '' for such keys (it held clear secrets before).
      ALTER TABLE access_keys ADD COLUMN sealed_secret BLOB;
      CREATE INDEX access_keys_by_owner ON access_keys(owner, access_key_id);

      -- Canned ACL ('private' when NULL), the bucket policy JSON as the owner sent it, and the
      -- CORS rules as JSON (NULL: none, so GetBucketPolicy/GetBucketCors answer NoSuch...).
      ALTER TABLE buckets ADD COLUMN acl TEXT;
      ALTER TABLE buckets ADD COLUMN policy TEXT;
      ALTER TABLE buckets ADD COLUMN cors TEXT;
      ALTER TABLE objects ADD COLUMN acl TEXT;
    `,
  },
  {
    version: 7,
    name: 'SSE-C: customer-key parameters of objects and uploads',
    sql: `
      -- SSE-C (customer-provided keys): NULL for an object the gateway alone can read, else the
      -- JSON {"algorithm": "AES256", "salt": base64, "keyHmac": base64}. The salt derives the key
      -- that wraps the blobs' data keys from the customer's key; keyHmac (a salted HMAC of that
      -- key) tells a wrong key. The customer's key itself is never stored.
      ALTER TABLE objects ADD COLUMN sse_c TEXT;
      -- An upload's parameters, taken by every part and by the object on completion.
      ALTER TABLE uploads ADD COLUMN sse_c TEXT;
    `,
  },
  {
    version: 8,
    name: 'canned ACL of a multipart upload',
    sql: `
      -- The x-amz-acl a CreateMultipartUpload asked for ('private' when NULL), given to the
      -- object when the upload completes.
      ALTER TABLE uploads ADD COLUMN acl TEXT;
    `,
  },
  {
    version: 9,
    name: 'completed multipart uploads, for retried completions',
    sql: `
      -- A completed upload's answer, so a retried CompleteMultipartUpload (a client whose first
      -- answer was lost) gets it again instead of NoSuchUpload, as on AWS S3. Kept a day.
      -- No foreign keys: the object version may go, and the answer then no longer stands.
      CREATE TABLE completed_uploads (
        upload_id     TEXT PRIMARY KEY,
        bucket        TEXT NOT NULL,
        key           TEXT NOT NULL,
        object_id     INTEGER NOT NULL,
        version_id    TEXT NOT NULL,
        etag          TEXT NOT NULL,
        checksums     TEXT NOT NULL DEFAULT '{}',
        completed_at  INTEGER NOT NULL
      );
      CREATE INDEX completed_uploads_by_age ON completed_uploads(completed_at);
    `,
  },
  {
    version: 10,
    name: 'public access block of a bucket',
    sql: `
      -- PublicAccessBlockConfiguration as JSON {"blockPublicAcls":…,"ignorePublicAcls":…,
      -- "blockPublicPolicy":…,"restrictPublicBuckets":…}; NULL when none is set.
      ALTER TABLE buckets ADD COLUMN public_access_block TEXT;
    `,
  },
  {
    version: 11,
    name: 'indexes for foreign keys and per-node lookups',
    sql: `
      -- Deleting a blob (the garbage collector) makes SQLite check that no part still refers to
      -- it: without these, every delete scanned all object and upload parts.
      CREATE INDEX object_parts_by_blob ON object_parts(blob_id);
      CREATE INDEX upload_parts_by_blob ON upload_parts(blob_id);
      -- A node's latest audit and latest failure (admin nodes, reports) without sorting its history.
      CREATE INDEX audits_by_node_id ON audits(node_id, id);
      CREATE INDEX audit_failures_by_node ON audits(node_id, id) WHERE outcome != 'pass';
      -- Which nodes hold an orphaned copy of a shard, by shard id range.
      CREATE INDEX shard_orphans_by_shard ON shard_orphans(shard_id);
    `,
  },
  {
    version: 12,
    name: 'pinned shard-store keys',
    sql: `
      -- The fingerprint (sha256:...) of the TLS key each shard-store proved on first contact,
      -- or that the operator gave with its address; only that key is accepted from then on.
      -- NULL until the gateway first reaches the store.
      ALTER TABLE nodes ADD COLUMN tls_pin TEXT;
    `,
  },
  {
    version: 13,
    name: 'metadata journal shipped to the shard-stores',
    sql: `
      -- Rows changed since the journal last shipped (gateway/journal/): triggers note the table
      -- and rowid, the shipper sends the rows as they are then. AUTOINCREMENT: numbers are never
      -- reused, so "changes up to N" stays meaningful after shipped rows are deleted.
      -- Nodes are noted when what the registry decides changes, not at every /status probe
      -- (free space, last seen). Tables left out are rebuilt or refilled after a recovery (repair queue and jobs, audit
      -- history, scrub and journal state, orphan hints). A new table that holds what users
      -- wrote needs its three triggers in the migration that creates it.
      CREATE TABLE journal_changes (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        tbl   TEXT NOT NULL,
        row   INTEGER NOT NULL
      );
      -- Journal entries written to the shard-stores (every attempt), until snapshots make them unneeded.
      CREATE TABLE journal_entries (
        blob_id     TEXT PRIMARY KEY,
        epoch       TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        placement   TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      );
      CREATE INDEX journal_entries_by_seq ON journal_entries(epoch, seq);
      -- Where replay starts for this snapshot: the journal epoch and the first entry it may miss.
      ALTER TABLE snapshots ADD COLUMN journal_epoch TEXT;
      ALTER TABLE snapshots ADD COLUMN journal_from INTEGER;
      CREATE TRIGGER journal_buckets_insert AFTER INSERT ON buckets BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('buckets', NEW.rowid); END;
      CREATE TRIGGER journal_buckets_update AFTER UPDATE ON buckets BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('buckets', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'buckets', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_buckets_delete AFTER DELETE ON buckets BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('buckets', OLD.rowid); END;
      CREATE TRIGGER journal_nodes_insert AFTER INSERT ON nodes BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('nodes', NEW.rowid); END;
      CREATE TRIGGER journal_nodes_update AFTER UPDATE OF id, url, zone, capacity, state, state_since, state_reason, score, tls_pin ON nodes BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('nodes', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'nodes', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_nodes_delete AFTER DELETE ON nodes BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('nodes', OLD.rowid); END;
      CREATE TRIGGER journal_blobs_insert AFTER INSERT ON blobs BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('blobs', NEW.rowid); END;
      CREATE TRIGGER journal_blobs_update AFTER UPDATE ON blobs BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('blobs', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'blobs', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_blobs_delete AFTER DELETE ON blobs BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('blobs', OLD.rowid); END;
      CREATE TRIGGER journal_blob_roots_insert AFTER INSERT ON blob_roots BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('blob_roots', NEW.rowid); END;
      CREATE TRIGGER journal_blob_roots_update AFTER UPDATE ON blob_roots BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('blob_roots', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'blob_roots', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_blob_roots_delete AFTER DELETE ON blob_roots BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('blob_roots', OLD.rowid); END;
      CREATE TRIGGER journal_objects_insert AFTER INSERT ON objects BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('objects', NEW.rowid); END;
      CREATE TRIGGER journal_objects_update AFTER UPDATE ON objects BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('objects', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'objects', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_objects_delete AFTER DELETE ON objects BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('objects', OLD.rowid); END;
      CREATE TRIGGER journal_object_parts_insert AFTER INSERT ON object_parts BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('object_parts', NEW.rowid); END;
      CREATE TRIGGER journal_object_parts_update AFTER UPDATE ON object_parts BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('object_parts', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'object_parts', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_object_parts_delete AFTER DELETE ON object_parts BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('object_parts', OLD.rowid); END;
      CREATE TRIGGER journal_uploads_insert AFTER INSERT ON uploads BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('uploads', NEW.rowid); END;
      CREATE TRIGGER journal_uploads_update AFTER UPDATE ON uploads BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('uploads', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'uploads', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_uploads_delete AFTER DELETE ON uploads BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('uploads', OLD.rowid); END;
      CREATE TRIGGER journal_upload_parts_insert AFTER INSERT ON upload_parts BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('upload_parts', NEW.rowid); END;
      CREATE TRIGGER journal_upload_parts_update AFTER UPDATE ON upload_parts BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('upload_parts', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'upload_parts', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_upload_parts_delete AFTER DELETE ON upload_parts BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('upload_parts', OLD.rowid); END;
      CREATE TRIGGER journal_access_keys_insert AFTER INSERT ON access_keys BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('access_keys', NEW.rowid); END;
      CREATE TRIGGER journal_access_keys_update AFTER UPDATE ON access_keys BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('access_keys', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'access_keys', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_access_keys_delete AFTER DELETE ON access_keys BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('access_keys', OLD.rowid); END;
      CREATE TRIGGER journal_completed_uploads_insert AFTER INSERT ON completed_uploads BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('completed_uploads', NEW.rowid); END;
      CREATE TRIGGER journal_completed_uploads_update AFTER UPDATE ON completed_uploads BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('completed_uploads', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'completed_uploads', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_completed_uploads_delete AFTER DELETE ON completed_uploads BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('completed_uploads', OLD.rowid); END;
      CREATE TRIGGER journal_snapshots_insert AFTER INSERT ON snapshots BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('snapshots', NEW.rowid); END;
      CREATE TRIGGER journal_snapshots_update AFTER UPDATE ON snapshots BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('snapshots', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'snapshots', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_snapshots_delete AFTER DELETE ON snapshots BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('snapshots', OLD.rowid); END;
      CREATE TRIGGER journal_report_log_insert AFTER INSERT ON report_log BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('report_log', NEW.rowid); END;
      CREATE TRIGGER journal_report_log_update AFTER UPDATE ON report_log BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('report_log', NEW.rowid);
        INSERT INTO journal_changes(tbl, row) SELECT 'report_log', OLD.rowid WHERE OLD.rowid != NEW.rowid;
      END;
      CREATE TRIGGER journal_report_log_delete AFTER DELETE ON report_log BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('report_log', OLD.rowid); END;
    `,
  },
  {
    version: 14,
    name: 'object ownership of a bucket',
    sql: `
      -- S3 Object Ownership (gateway/access/object-ownership.ts): BucketOwnerEnforced,
      -- BucketOwnerPreferred or ObjectWriter; NULL once DeleteBucketOwnershipControls removed it.
      -- New buckets get BucketOwnerEnforced (S3's default). Buckets made before had ACLs that
      -- counted and the bucket owner owning every object: BucketOwnerPreferred keeps both, so
      -- the grants their users rely on go on working.
      ALTER TABLE buckets ADD COLUMN object_ownership TEXT;
      UPDATE buckets SET object_ownership = 'BucketOwnerPreferred';
    `,
  },
  {
    version: 15,
    name: 'bucket quotas and bytes stored per bucket',
    sql: `
      -- A hard quota in bytes (gateway/meta/quota.ts); NULL: none.
      ALTER TABLE buckets ADD COLUMN quota INTEGER;
      -- Bytes of every version of every object of a bucket, kept by the triggers below so a
      -- write checks its quota without summing the bucket. Not journaled: derived from
      -- objects, and counted again after a recovery (recountBucketUsage).
      CREATE TABLE bucket_usage (
        bucket  TEXT PRIMARY KEY,
        bytes   INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO bucket_usage(bucket, bytes)
        SELECT name, (SELECT COALESCE(SUM(size), 0) FROM objects WHERE objects.bucket = buckets.name) FROM buckets;
      CREATE TRIGGER usage_objects_insert AFTER INSERT ON objects BEGIN
        INSERT INTO bucket_usage(bucket, bytes) VALUES (NEW.bucket, NEW.size)
          ON CONFLICT(bucket) DO UPDATE SET bytes = bytes + excluded.bytes;
      END;
      CREATE TRIGGER usage_objects_delete AFTER DELETE ON objects BEGIN
        UPDATE bucket_usage SET bytes = bytes - OLD.size WHERE bucket = OLD.bucket;
      END;
      CREATE TRIGGER usage_objects_update AFTER UPDATE OF bucket, size ON objects BEGIN
        UPDATE bucket_usage SET bytes = bytes - OLD.size WHERE bucket = OLD.bucket;
        INSERT INTO bucket_usage(bucket, bytes) VALUES (NEW.bucket, NEW.size)
          ON CONFLICT(bucket) DO UPDATE SET bytes = bytes + excluded.bytes;
      END;
      CREATE TRIGGER usage_buckets_delete AFTER DELETE ON buckets BEGIN
        DELETE FROM bucket_usage WHERE bucket = OLD.name;
      END;
    `,
  },
  {
    version: 16,
    name: 'bucket event notifications and their outbox',
    sql: `
      -- The bucket's notification rules as JSON (gateway/meta/notifications.ts); NULL: none.
      ALTER TABLE buckets ADD COLUMN notification TEXT;
      -- Events waiting for delivery to a webhook target (gateway/notify/). A row is inserted in
      -- the transaction that commits the change it reports, so an acknowledged write always has
      -- its event and a failed one none; it is deleted once the target answered 2xx. No foreign
      -- key: an event outlives its object and its bucket. AUTOINCREMENT: the id is the event's
      -- sequencer, never reused.
      CREATE TABLE notification_events (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        target        TEXT NOT NULL,
        config_id     TEXT NOT NULL,
        bucket        TEXT NOT NULL,
        bucket_owner  TEXT NOT NULL,
        key           TEXT NOT NULL,
        event_name    TEXT NOT NULL,
        event_time    INTEGER NOT NULL,
        size          INTEGER,
        etag          TEXT,
        version_id    TEXT,
        principal     TEXT NOT NULL,
        source_ip     TEXT NOT NULL,
        request_id    TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       INTEGER NOT NULL,
        last_error    TEXT
      );
      CREATE INDEX notification_events_due ON notification_events(target, next_at);
      -- Journaled as what users wrote (migration 13): a recovered gateway still delivers what it
      -- acknowledged. Retry bookkeeping (attempts, next_at, last_error) is not worth shipping.
      CREATE TRIGGER journal_notification_events_insert AFTER INSERT ON notification_events BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('notification_events', NEW.rowid);
      END;
      CREATE TRIGGER journal_notification_events_update AFTER UPDATE OF target, config_id, bucket, bucket_owner, key, event_name,
        event_time, size, etag, version_id, principal, source_ip, request_id ON notification_events BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('notification_events', NEW.rowid);
      END;
      CREATE TRIGGER journal_notification_events_delete AFTER DELETE ON notification_events BEGIN
        INSERT INTO journal_changes(tbl, row) VALUES ('notification_events', OLD.rowid);
      END;
    `,
  },
  {
    version: 17,
    name: 'listing indexes',
    sql: `
      -- ListObjectVersions reads each key's versions newest first (ORDER BY key, id DESC). With
      -- id descending in the index, a page is one range scan that stops at its LIMIT; ascending,
      -- SQLite sorted every key's versions in a temporary b-tree. Lookups of a key's newest or
      -- oldest version use it either way.
      DROP INDEX objects_versions;
      CREATE INDEX objects_versions ON objects(bucket, key, id DESC);
      -- ListObjects reads only current versions that are not delete markers. From objects_latest
      -- it stepped over every key whose current version is a delete marker, so a versioned
      -- bucket where a million keys were deleted took seconds a page; this index holds only
      -- what is listed.
      CREATE INDEX objects_listed ON objects(bucket, key) WHERE is_latest = 1 AND is_delete_marker = 0;
    `,
  },
  {
    version: 18,
    name: 'leases on background jobs',
    // gateway/meta/leases.ts: one gateway alone keeps the table too, so the admin API shows
    // who runs the background work the same way on every backend.
    sql: `
      CREATE TABLE leases (
        name        TEXT PRIMARY KEY,
        holder      TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        generation  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 19,
    name: 'ledger-event log and ledger entries',
    sql: `
      -- The signed, hash-chained ledger-event log (gateway/economy/log.ts): events (deposits,
      -- delegations, fees...) and era settlement records. Append only; seq is given by the
      -- appender, so two writers after the same tail collide on the key instead of forking
      -- the chain, and an era's record is unique, so no era is settled twice.
      CREATE TABLE ledger_log (
        seq    INTEGER PRIMARY KEY,
        kind   TEXT NOT NULL,
        era    INTEGER,
        at     INTEGER NOT NULL,
        jws    TEXT NOT NULL,
        hash   TEXT NOT NULL
      );
      CREATE UNIQUE INDEX ledger_log_settled ON ledger_log(era) WHERE kind = 'settlement';
      -- The double-entry ledger the settlements produced (gateway/ledger/), published beside the
      -- log so that anyone can compare it with their own replay. Amounts as decimal text.
      CREATE TABLE ledger_entries (
        seq           INTEGER PRIMARY KEY,
        era           INTEGER NOT NULL,
        reason        TEXT NOT NULL,
        from_account  TEXT NOT NULL,
        to_account    TEXT NOT NULL,
        amount        TEXT NOT NULL,
        ref           TEXT
      );
      -- Journaled (migration 13) like the report log: a recovered gateway keeps the economy.
      CREATE TRIGGER journal_ledger_log_insert AFTER INSERT ON ledger_log BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('ledger_log', NEW.rowid); END;
      CREATE TRIGGER journal_ledger_log_delete AFTER DELETE ON ledger_log BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('ledger_log', OLD.rowid); END;
      CREATE TRIGGER journal_ledger_entries_insert AFTER INSERT ON ledger_entries BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('ledger_entries', NEW.rowid); END;
      CREATE TRIGGER journal_ledger_entries_delete AFTER DELETE ON ledger_entries BEGIN INSERT INTO journal_changes(tbl, row) VALUES ('ledger_entries', OLD.rowid); END;
    `,
  },
  {
    version: 20,
    name: 'object row ids never reused',
    sql: `
      -- SQLite gives a new row the largest id plus one, so the id of a deleted newest row came
      -- back: a lifecycle expiry that checked "still the row I saw" (ifCurrentId) could then
      -- delete the object that replaced it. New rows take their id from this high-water mark,
      -- which only rises (kept by the trigger, also for rows a recovery replays).
      CREATE TABLE id_high_water (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
      );
      INSERT INTO id_high_water(name, value) VALUES ('objects', COALESCE((SELECT MAX(id) FROM objects), 0));
      CREATE TRIGGER objects_id_high_water AFTER INSERT ON objects BEGIN
        UPDATE id_high_water SET value = NEW.id WHERE name = 'objects' AND value < NEW.id;
      END;
    `,
  },
];
