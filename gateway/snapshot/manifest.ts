import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * The small document that says where the last metadata snapshot is. A full copy sits on
 * every shard-store under the same shard id (snapshot/keys.ts), encrypted and authenticated
 * under a key derived from the master key, so a store cannot forge one, only withhold it or
 * replay an older one: recovery takes the newest copy that opens, if enough stores agree
 * (snapshot/choose.ts).
 * Format: "SGM1" | nonce (12) | AES-256-GCM ciphertext of the JSON | tag (16).
 */
export interface SnapshotManifest {
  v: 1;
  /** Snapshot number (the snapshots table id) and when it was taken. */
  seq: number;
  createdAt: number;
  /** The snapshot blob: the SQLite file, erasure-coded like any object. */
  blob: { id: string; size: number; segmentSize: number; wrappedKey: string; placement: string[] };
  /** The gateway's key (private JWK): the shard-stores trust only it for writes. */
  gatewayKey: JWK;
  /** Root credentials when they were generated into the data folder (not when set by environment). */
  rootCredentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * The metadata journal replayed over this snapshot: entries `from` on of `epoch`
   * (gateway/journal/). Absent in manifests of older releases: nothing to replay.
   */
  journal?: { epoch: string; from: number };
  /** The shard-stores and their pinned TLS keys, when pinned. */
  nodes: Array<{ id: string; url: string; zone: string; pin?: string }>;
  /**
   * The stores this manifest is written to. Recovery wants it from a majority of them, and
   * from every one of them that answers (snapshot/choose.ts). Absent in manifests written
   * before it existed: then `nodes`.
   */
  targets?: string[];
}

const MAGIC = Buffer.from('SGM1');
const AAD = Buffer.from('shardgate snapshot manifest v1');

export class ManifestError extends Error {
  code = 'ERR_SNAPSHOT_MANIFEST';
}

export function sealManifest(key: Buffer, m: SnapshotManifest): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(AAD);
  const ct = Buffer.concat([c.update(JSON.stringify(m)), c.final()]);
  return Buffer.concat([MAGIC, nonce, ct, c.getAuthTag()]);
}

export function openManifest(key: Buffer, sealed: Buffer): SnapshotManifest {
  if (sealed.length < 4 + 12 + 16 || !sealed.subarray(0, 4).equals(MAGIC)) throw new ManifestError('not a snapshot manifest');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(4, 16));
  d.setAAD(AAD);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  let text: string;
  try {
    text = Buffer.concat([d.update(sealed.subarray(16, sealed.length - 16)), d.final()]).toString('utf8');
  } catch (err) {
    throw new ManifestError('manifest does not open with this master key', { cause: err });
  }
  const m = JSON.parse(text) as SnapshotManifest;
  if (m.v !== 1 || typeof m.blob?.id !== 'string') throw new ManifestError('manifest has an unknown format');
  return m;
}
