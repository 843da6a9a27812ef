/**
 * Numbered schema migrations of the PostgreSQL metadata. Append only: a released migration is
 * never edited, a change is a new entry. `schema_version` records which ones a database has.
 *
 * The same tables and columns as the SQLite schema (gateway/meta/migrations.ts), so the two
 * backends read alike, without what only the embedded database needs: the metadata journal
 * and the snapshots (a replicated database is its own backup), and every trigger.
 * `bucket_usage`, which SQLite keeps by triggers, is kept here by the statements that change
 * `objects` rows, in their transaction.
 *
 * Written for PostgreSQL 15 and to what CockroachDB and YugabyteDB also run:
 * - Row ids from explicit sequences (`DEFAULT nextval(...)`), never SERIAL or IDENTITY.
 * - Each statement runs on its own, outside a transaction (CockroachDB does not mix schema
 *   changes with writes), so each must be idempotent (IF NOT EXISTS): a migration cut short
 *   by a crash runs again from its first statement.
 * - Text that is compared or ordered (names, keys, ids, cursors) is `COLLATE "C"`: bytewise,
 *   as SQLite compares, so listings come in UTF-8 byte order as S3 lists, whatever the
 *   database's locale.
 */
export interface PgMigration {
  version: number;
  name: string;
  statements: readonly string[];
}

/** Collation of every text that is compared, ordered or used as a cursor. */
const C = 'COLLATE "C"';

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'initial schema (SQLite schema v17 without its journal and snapshots)',
    statements: [
      `CREATE TABLE IF NOT EXISTS buckets (
        name                 TEXT ${C} PRIMARY KEY,
        owner                TEXT ${C} NOT NULL,
        region               TEXT NOT NULL,
        created_at           BIGINT NOT NULL,
        tags                 TEXT,
        versioning           TEXT,
        object_lock          TEXT,
        lifecycle            TEXT,
        acl                  TEXT,
        policy               TEXT,
        cors                 TEXT,
        public_access_block  TEXT,
        object_ownership     TEXT,
        quota                BIGINT,
        notification         TEXT
      )`,

      // Shard-store servers. Blobs name their placement by node id, so a node may change address.
      `CREATE TABLE IF NOT EXISTS nodes (
        id            TEXT ${C} PRIMARY KEY,
        url           TEXT NOT NULL,
        zone          TEXT ${C} NOT NULL DEFAULT 'zone-1',
        capacity      BIGINT,
        free_bytes    BIGINT,
        state         TEXT NOT NULL DEFAULT 'active',
        score         DOUBLE PRECISION NOT NULL DEFAULT 1.0,
        added_at      BIGINT NOT NULL,
        last_seen     BIGINT,
        state_since   BIGINT,
        state_reason  TEXT,
        tls_pin       TEXT
      )`,

      // state: 'writing' until its object/part row commits, then 'live'; 'garbage' once
      // nothing refers to it. `placement` is the JSON array of node ids, piece order.
      `CREATE TABLE IF NOT EXISTS blobs (
        id            TEXT ${C} PRIMARY KEY,
        size          BIGINT NOT NULL,
        segment_size  INTEGER NOT NULL,
        wrapped_key   BYTEA NOT NULL,
        placement     TEXT NOT NULL,
        state         TEXT ${C} NOT NULL,
        created_at    BIGINT NOT NULL,
        garbage_at    BIGINT
      )`,
      'CREATE INDEX IF NOT EXISTS blobs_by_state ON blobs(state, garbage_at, created_at)',

      'CREATE SEQUENCE IF NOT EXISTS objects_id_seq',
      `CREATE TABLE IF NOT EXISTS objects (
        id                BIGINT PRIMARY KEY DEFAULT nextval('objects_id_seq'),
        bucket            TEXT ${C} NOT NULL REFERENCES buckets(name),
        key               TEXT ${C} NOT NULL,
        version_id        TEXT ${C} NOT NULL,
        is_latest         INTEGER NOT NULL,
        size              BIGINT NOT NULL,
        etag              TEXT NOT NULL,
        last_modified     BIGINT NOT NULL,
        content_type      TEXT,
        headers           TEXT NOT NULL DEFAULT '{}',
        user_meta         TEXT NOT NULL DEFAULT '{}',
        checksums         TEXT NOT NULL DEFAULT '{}',
        parts_count       INTEGER,
        tags              TEXT,
        is_delete_marker  INTEGER NOT NULL DEFAULT 0,
        lock_mode         TEXT,
        lock_until        BIGINT,
        legal_hold        INTEGER,
        acl               TEXT,
        sse_c             TEXT
      )`,
      'CREATE UNIQUE INDEX IF NOT EXISTS objects_latest ON objects(bucket, key) WHERE is_latest = 1',
      'CREATE INDEX IF NOT EXISTS objects_by_version ON objects(bucket, key, version_id)',
      // ListObjectVersions reads each key's versions newest first (ORDER BY key, id DESC).
      'CREATE INDEX IF NOT EXISTS objects_versions ON objects(bucket, key, id DESC)',
      // ListObjects reads only the latest, non-deleted versions: a range scan of this index.
      'CREATE INDEX IF NOT EXISTS objects_listed ON objects(bucket, key) WHERE is_latest = 1 AND is_delete_marker = 0',

      `CREATE TABLE IF NOT EXISTS object_parts (
        object_id    BIGINT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
        part_number  INTEGER NOT NULL,
        blob_id      TEXT ${C} REFERENCES blobs(id),
        size         BIGINT NOT NULL,
        etag         TEXT NOT NULL,
        checksums    TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (object_id, part_number)
      )`,
      'CREATE INDEX IF NOT EXISTS object_parts_by_blob ON object_parts(blob_id)',

      `CREATE TABLE IF NOT EXISTS uploads (
        id                  TEXT ${C} PRIMARY KEY,
        bucket              TEXT ${C} NOT NULL REFERENCES buckets(name),
        key                 TEXT ${C} NOT NULL,
        owner               TEXT ${C} NOT NULL,
        created_at          BIGINT NOT NULL,
        content_type        TEXT,
        headers             TEXT NOT NULL DEFAULT '{}',
        user_meta           TEXT NOT NULL DEFAULT '{}',
        checksum_algorithm  TEXT,
        checksum_type       TEXT,
        tags                TEXT,
        object_lock         TEXT,
        sse_c               TEXT,
        acl                 TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, created_at)',

      `CREATE TABLE IF NOT EXISTS upload_parts (
        upload_id      TEXT ${C} NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        part_number    INTEGER NOT NULL,
        blob_id        TEXT ${C} REFERENCES blobs(id),
        size           BIGINT NOT NULL,
        etag           TEXT NOT NULL,
        checksums      TEXT NOT NULL DEFAULT '{}',
        last_modified  BIGINT NOT NULL,
        PRIMARY KEY (upload_id, part_number)
      )`,
      'CREATE INDEX IF NOT EXISTS upload_parts_by_blob ON upload_parts(blob_id)',

      `CREATE TABLE IF NOT EXISTS repair_queue (
        blob_id      TEXT ${C} NOT NULL,
        piece        INTEGER NOT NULL,
        reason       TEXT NOT NULL,
        enqueued_at  BIGINT NOT NULL,
        PRIMARY KEY (blob_id, piece)
      )`,

      `CREATE TABLE IF NOT EXISTS access_keys (
        access_key_id  TEXT ${C} PRIMARY KEY,
        secret         TEXT NOT NULL,
        owner          TEXT ${C} NOT NULL,
        created_at     BIGINT NOT NULL,
        disabled       INTEGER NOT NULL DEFAULT 0,
        sealed_secret  BYTEA
      )`,
      'CREATE INDEX IF NOT EXISTS access_keys_by_owner ON access_keys(owner, access_key_id)',

      'CREATE SEQUENCE IF NOT EXISTS repair_jobs_id_seq',
      `CREATE TABLE IF NOT EXISTS repair_jobs (
        id              BIGINT PRIMARY KEY DEFAULT nextval('repair_jobs_id_seq'),
        trigger         TEXT NOT NULL,
        threshold       INTEGER NOT NULL,
        state           TEXT ${C} NOT NULL,
        pass            INTEGER NOT NULL DEFAULT 1,
        cursor          TEXT ${C} NOT NULL DEFAULT '',
        started_at      BIGINT NOT NULL,
        updated_at      BIGINT NOT NULL,
        finished_at     BIGINT,
        blobs_total     BIGINT NOT NULL DEFAULT 0,
        blobs_checked   BIGINT NOT NULL DEFAULT 0,
        blobs_repaired  BIGINT NOT NULL DEFAULT 0,
        blobs_failed    BIGINT NOT NULL DEFAULT 0,
        pieces_rebuilt  BIGINT NOT NULL DEFAULT 0,
        bytes_read      BIGINT NOT NULL DEFAULT 0,
        bytes_written   BIGINT NOT NULL DEFAULT 0,
        active_ms       BIGINT NOT NULL DEFAULT 0,
        message         TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS repair_jobs_by_state ON repair_jobs(state, id)',
      // Several gateways may ask for a repair at once: at most one job runs.
      `CREATE UNIQUE INDEX IF NOT EXISTS repair_jobs_one_running ON repair_jobs(state) WHERE state = 'running'`,

      `CREATE TABLE IF NOT EXISTS shard_orphans (
        node_id     TEXT ${C} NOT NULL,
        shard_id    TEXT ${C} NOT NULL,
        not_before  BIGINT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node_id, shard_id)
      )`,
      'CREATE INDEX IF NOT EXISTS shard_orphans_due ON shard_orphans(not_before)',
      'CREATE INDEX IF NOT EXISTS shard_orphans_by_shard ON shard_orphans(shard_id)',

      `CREATE TABLE IF NOT EXISTS blob_roots (
        blob_id  TEXT ${C} PRIMARY KEY,
        roots    BYTEA NOT NULL
      )`,

      'CREATE SEQUENCE IF NOT EXISTS audits_id_seq',
      `CREATE TABLE IF NOT EXISTS audits (
        id        BIGINT PRIMARY KEY DEFAULT nextval('audits_id_seq'),
        node_id   TEXT ${C} NOT NULL,
        at        BIGINT NOT NULL,
        shard_id  TEXT ${C} NOT NULL,
        outcome   TEXT ${C} NOT NULL,
        detail    TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS audits_by_node ON audits(node_id, at)',
      'CREATE INDEX IF NOT EXISTS audits_by_node_id ON audits(node_id, id)',
      `CREATE INDEX IF NOT EXISTS audit_failures_by_node ON audits(node_id, id) WHERE outcome != 'pass'`,

      // Append only; `seq` is given by the appender, so two gateways appending after the same
      // entry collide on the key instead of forking the chain.
      `CREATE TABLE IF NOT EXISTS report_log (
        seq           BIGINT PRIMARY KEY,
        node_id       TEXT ${C} NOT NULL,
        period_start  BIGINT NOT NULL,
        period_end    BIGINT NOT NULL,
        jws           TEXT NOT NULL,
        hash          TEXT NOT NULL
      )`,

      `CREATE TABLE IF NOT EXISTS trust_state (
        key    TEXT ${C} PRIMARY KEY,
        value  TEXT NOT NULL
      )`,

      `CREATE TABLE IF NOT EXISTS completed_uploads (
        upload_id     TEXT ${C} PRIMARY KEY,
        bucket        TEXT ${C} NOT NULL,
        key           TEXT ${C} NOT NULL,
        object_id     BIGINT NOT NULL,
        version_id    TEXT ${C} NOT NULL,
        etag          TEXT NOT NULL,
        checksums     TEXT NOT NULL DEFAULT '{}',
        completed_at  BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS completed_uploads_by_age ON completed_uploads(completed_at)',

      // Bytes of every version of every object of a bucket, changed with the objects rows. A
      // bucket's count is the sum of its rows, one per slot: each write adds to the slot of its
      // connection (quota.ts addBucketUsage), so concurrent writes to one bucket do not all
      // update one row, which SERIALIZABLE answers by failing all of them but the first.
      `CREATE TABLE IF NOT EXISTS bucket_usage (
        bucket  TEXT ${C} NOT NULL,
        slot    INTEGER NOT NULL DEFAULT 0,
        bytes   BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (bucket, slot)
      )`,

      // The outbox of bucket event notifications; the id is the event's sequencer.
      'CREATE SEQUENCE IF NOT EXISTS notification_events_id_seq',
      `CREATE TABLE IF NOT EXISTS notification_events (
        id            BIGINT PRIMARY KEY DEFAULT nextval('notification_events_id_seq'),
        target        TEXT ${C} NOT NULL,
        config_id     TEXT NOT NULL,
        bucket        TEXT ${C} NOT NULL,
        bucket_owner  TEXT NOT NULL,
        key           TEXT ${C} NOT NULL,
        event_name    TEXT NOT NULL,
        event_time    BIGINT NOT NULL,
        size          BIGINT,
        etag          TEXT,
        version_id    TEXT ${C},
        principal     TEXT NOT NULL,
        source_ip     TEXT NOT NULL,
        request_id    TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       BIGINT NOT NULL,
        last_error    TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS notification_events_due ON notification_events(target, next_at)',
    ],
  },
  {
    version: 2,
    name: 'leases on background work; the ledger-event log',
    statements: [
      // gateway/meta/leases.ts: one row per background job; time is the database's (ms).
      `CREATE TABLE IF NOT EXISTS leases (
        name        TEXT ${C} PRIMARY KEY,
        holder      TEXT NOT NULL,
        expires_at  BIGINT NOT NULL,
        generation  BIGINT NOT NULL
      )`,
      // As SQLite migration 19 (gateway/meta/ledger-log.ts). `seq` is given by the appender, so
      // two gateways appending after the same entry collide on the key instead of forking the
      // chain; an era's settlement record is unique, so no era is settled twice.
      `CREATE TABLE IF NOT EXISTS ledger_log (
        seq    BIGINT PRIMARY KEY,
        kind   TEXT NOT NULL,
        era    BIGINT,
        at     BIGINT NOT NULL,
        jws    TEXT NOT NULL,
        hash   TEXT NOT NULL
      )`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ledger_log_settled ON ledger_log(era) WHERE kind = 'settlement'`,
      `CREATE TABLE IF NOT EXISTS ledger_entries (
        seq           BIGINT PRIMARY KEY,
        era           BIGINT NOT NULL,
        reason        TEXT NOT NULL,
        from_account  TEXT NOT NULL,
        to_account    TEXT NOT NULL,
        amount        TEXT NOT NULL,
        ref           TEXT
      )`,
    ],
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]?.version ?? 0;
