/**
 * The wire contract between the gateway and a shard-store, shared by both sides
 * (DESIGN.md "Shard-store contract"). Changing anything here needs both sides updated.
 */

/**
 * A shard id: the blob id (128 bits, lowercase hex) and the piece index, e.g. `0123…ef.7`.
 * The strict shape is also what keeps request paths from naming anything outside the store.
 */
export const SHARD_ID_RE = /^[0-9a-f]{32}\.[0-9]{1,2}$/;

export function isShardId(value: unknown): value is string {
  return typeof value === 'string' && SHARD_ID_RE.test(value);
}

/**
 * What a client may ask for. The gateway's key may use every operation; a recovery key only
 * RECOVERY_OPS. Clients are known by the key they prove in the TLS handshake (wire/identity.ts).
 */
export const SHARD_OPS = ['put', 'get', 'head', 'delete', 'challenge', 'status', 'list', 'trust'] as const;
export type ShardOp = (typeof SHARD_OPS)[number];

/**
 * Body of an audit challenge (`POST /challenge` with `indices`): the store answers the
 * named records of the shard file (cut in records of `recordSize` bytes, the last one
 * shorter) with each record's bytes and its hash-tree proof (shard-store/merkle.ts).
 */
export interface AuditChallengeRequest {
  shardId: string;
  /** Hex; echoed in nothing, but keeps a challenge from being a replayable request. */
  nonce: string;
  recordSize: number;
  indices: number[];
}

export interface AuditChallengeResponse {
  /** Records (leaves) in the shard file, as the store counts them. */
  leafCount: number;
  records: Array<{ index: number; /** base64 */ data: string; /** hex sibling hashes, leaf to root */ proof: string[] }>;
}

/** Most records one audit challenge may name, and the largest record size it may use. */
export const CHALLENGE_MAX_RECORDS = 16;
export const CHALLENGE_MAX_RECORD_BYTES = 8 * 1024 * 1024;

/** Body of `GET /pieces`: every shard id the store holds (recovery lists what a snapshot misses). */
export interface ListPiecesResponse {
  shards: string[];
}

/**
 * Body of `POST /trusted-keys`: a gateway registers a public key (derived from its master
 * key) that may later read pieces (get, head, list, status) when the gateway's own disk,
 * with its own key, is gone: `shardgate admin recover` connects with it.
 */
export interface TrustKeyRequest {
  jwk: Record<string, unknown>;
}

/**
 * Body of `PUT /monitor-keys`: the public keys of the independent monitors the gateway lists
 * (`shardgate admin ledger monitor add`), the whole set each time: a key left out is no longer
 * served. A monitor key may only challenge and ask for the status (MONITOR_OPS).
 */
export interface MonitorKeysRequest {
  keys: Array<Record<string, unknown>>;
}

/** Operations a monitor key may use: audit challenges, and the status that says the store is up. */
export const MONITOR_OPS: readonly ShardOp[] = ['challenge', 'status'];
/** Most monitor keys a store keeps. */
export const MAX_MONITOR_KEYS = 256;

/** Operations a key registered through `POST /trusted-keys` may use. */
export const RECOVERY_OPS: readonly ShardOp[] = ['get', 'head', 'list', 'status'];

/** Limits of a challenge, so an audit cannot make a store read without bound. */
export const CHALLENGE_MAX_NONCE_BYTES = 64;

/** Body of `GET /status`. */
export interface ShardStoreStatus {
  id: string;
  zone: string;
  capacityBytes: number;
  /** Free bytes of the file system holding the data directory (statfs), whatever the configured capacity. */
  freeBytes: number;
  usedBytes: number;
  pieces: number;
  /** Records found rotten on read since the store started (taken out of service, to be rebuilt). */
  corruptRecords?: number;
  version: string;
  uptimeSeconds: number;
}

/** Body of every error answer; `error` is a stable code, `message` is for humans. */
export interface ShardStoreErrorBody {
  error: string;
  message: string;
}
