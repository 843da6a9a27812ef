import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { JWK } from 'jose';
import { getEngine } from '../../codec/engine.js';
import { N } from '../../codec/erasure.js';
import type { ListPiecesResponse } from '../../shard-store/protocol.js';
import type { ShardStoreRef } from '../config.js';
import type { MetaStore } from '../meta/store.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { ensurePrivateDir, securePrivateFolder } from '../secrets.js';
import { NodeHealth } from '../pipeline/health.js';
import { readBlob } from '../pipeline/read-blob.js';
import type { ShardIO } from '../pipeline/shard-io.js';
import { ShardClient, type ShardNode } from '../shards/client.js';
import { GATEWAY_KEY_FILE, GATEWAY_PUBLIC_KEY_FILE } from '../shards/keys.js';
import { TokenMinter } from '../shards/tokens.js';
import { manifestKey, manifestShardId, recoveryKey } from './keys.js';
import { chooseManifest, describeManifest, describeOffer, type Offer } from './choose.js';
import { openManifest, type SnapshotManifest } from './manifest.js';

export interface RecoverOptions {
  dataDir: string;
  stores: ShardStoreRef[];
  masterKey: Buffer;
  /**
   * Go on despite what would stop recovery: an existing meta.db (moved aside, never deleted),
   * and stores that hold back the newest snapshot or too few that offer it (snapshot/choose.ts).
   */
  force?: boolean;
  log?: (line: string) => void;
}

export interface RecoveryReport {
  dataDir: string;
  snapshot: { seq: number; createdAt: string; bytes: number };
  storesAsked: number;
  storesAnswering: number;
  manifestsFound: number;
  /** What each store offered when asked for the manifest. */
  offers: Array<{ store: string; offered: string }>;
  /** Stores the snapshot was written to that answered without it. */
  heldBack: Array<{ store: string; offered: string }>;
  /** The objections --force went past; empty when there were none. */
  forced: string[];
  buckets: number;
  objects: number;
  blobs: number;
  /**
   * Blobs found on the shard-stores that the snapshot does not know: writes after the
   * snapshot (or not yet deleted garbage). Their objects are not in the recovered metadata.
   */
  atRisk: { blobs: string[]; shardFiles: number };
}

export class RecoveryError extends Error {
  code = 'ERR_RECOVERY';
}

/**
 * Rebuild a gateway's data folder from the shard-stores and the master key: find the newest
 * snapshot manifest on the stores, refuse it when stores seem to hold a newer one back
 * (snapshot/choose.ts) unless forced, read the snapshot blob from any 10 of its pieces (found
 * where the manifest says, else by asking every store), check it is a sound SQLite file,
 * and put it in place with the gateway's signing key, then list what the stores hold that
 * the snapshot does not know, as at risk. The gateway must be stopped.
 */
export async function recoverGateway(opts: RecoverOptions): Promise<RecoveryReport> {
  const log = opts.log ?? (() => undefined);
  const metaPath = join(opts.dataDir, 'meta.db');
  if (existsSync(metaPath) && !opts.force) {
    throw new RecoveryError(`${metaPath} exists: recover into an empty data folder, or pass --force to move the old one aside`);
  }
  if (opts.stores.length === 0) throw new RecoveryError('no shard-stores given: set SHARDGATE_SHARD_STORES (id=url,...) as for the gateway');
  const key = await recoveryKey(opts.masterKey);
  const minter = new TokenMinter(key);
  const client = new ShardClient({ minter, connections: 4 });
  try {
    const nodes = new Map<string, ShardNode>(opts.stores.map((s) => [s.id, { id: s.id, url: s.url, zone: '' }]));
    log(`asking ${nodes.size} shard-stores for the snapshot manifest…`);
    const offers = await gatherOffers(client, [...nodes.values()], opts.masterKey);
    for (const o of offers) log(`  ${o.store}: ${describeOffer(o)}`);
    const choice = decide(offers, nodes.size);
    const manifest = choice.manifest;
    const answering = offers.filter((o) => o.kind !== 'silent').length;
    const found = offers.filter((o) => o.kind === 'manifest').length;
    log(`${answering} of ${nodes.size} stores answer, ${found} hold a manifest; newest: ${describeManifest(manifest)}`);
    log(`${describeManifest(manifest)} was written to ${choice.expected.length} stores: ${choice.agreeing.length} offer it (${choice.quorum} needed)`);
    if (choice.objections.length && !opts.force) {
      throw new RecoveryError(`refusing to restore ${describeManifest(manifest)}: ${choice.objections.join('; ')}. ` +
        'Bring the silent stores back and ask again; or, if you know why, run again with --force to restore it anyway');
    }
    for (const o of choice.objections) log(`--force: going on although ${o}`);
    log(`restoring ${describeManifest(manifest)}`);
    for (const n of manifest.nodes) if (!nodes.has(n.id)) log(`note: the snapshot knows shard-store ${n.id} (${n.url}), which SHARDGATE_SHARD_STORES does not list`);

    const placement = await locatePieces(client, [...nodes.values()], manifest);
    const found16 = placement.filter((p) => p !== '').length;
    log(`snapshot blob ${manifest.blob.id}: ${found16} of ${N} pieces found; reading ${manifest.blob.size} bytes…`);
    ensurePrivateDir(opts.dataDir, log);
    const tmp = join(opts.dataDir, `meta.db.recover${randomBytes(4).toString('hex')}`);
    try {
      await readSnapshot(client, nodes, manifest, placement, opts.masterKey, tmp);
      const check = new Database(tmp, { readonly: true, fileMustExist: true });
      let counts: { buckets: number; objects: number; blobs: number };
      let known: Set<string>;
      try {
        const ok = check.pragma('integrity_check', { simple: true });
        if (ok !== 'ok') throw new RecoveryError(`the snapshot is not a sound SQLite file (${String(ok)})`);
        const one = (sql: string): number => Number((check.prepare(sql).get() as { n: number }).n);
        counts = { buckets: one('SELECT COUNT(*) AS n FROM buckets'), objects: one('SELECT COUNT(*) AS n FROM objects'), blobs: one(`SELECT COUNT(*) AS n FROM blobs WHERE state = 'live'`) };
        known = new Set((check.prepare('SELECT id FROM blobs').all() as Array<{ id: string }>).map((r) => r.id));
      } finally {
        check.close();
      }
      if (existsSync(metaPath)) {
        const aside = `${metaPath}.before-recover-${Date.now()}`;
        await rename(metaPath, aside);
        log(`moved the old metadata to ${aside}`);
      }
      for (const ext of ['-wal', '-shm']) await rm(metaPath + ext, { force: true });
      await rename(tmp, metaPath);
      await restoreSecrets(opts.dataDir, manifest);
      // A folder recovered over (--force) may hold files an older release left readable by others.
      securePrivateFolder(opts.dataDir, log);
      log(`restored ${metaPath}: ${counts.buckets} buckets, ${counts.objects} object versions, ${counts.blobs} live blobs`);

      known.add(manifest.blob.id);
      const atRisk = await unknownBlobs(minter, [...nodes.values()], known, manifestShardId(opts.masterKey));
      return {
        dataDir: opts.dataDir,
        snapshot: { seq: manifest.seq, createdAt: new Date(manifest.createdAt).toISOString(), bytes: manifest.blob.size },
        storesAsked: nodes.size, storesAnswering: answering, manifestsFound: found, ...counts, atRisk,
        offers: offers.map((o) => ({ store: o.store, offered: describeOffer(o) })), heldBack: choice.heldBack, forced: opts.force ? choice.objections : [],
      };
    } finally {
      await rm(tmp, { force: true });
    }
  } finally {
    await client.close();
  }
}

/** A manifest is a few kilobytes; a store offering more is not offering a manifest. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Ask every store for its copy of the manifest: what each offers, in the order given. */
async function gatherOffers(client: ShardClient, nodes: ShardNode[], master: Buffer): Promise<Array<Offer & { refused?: boolean }>> {
  const shard = manifestShardId(master);
  const key = manifestKey(master);
  return Promise.all(nodes.map(async (n): Promise<Offer & { refused?: boolean }> => {
    let head;
    try {
      head = await client.head(n, shard, { timeoutMs: 5_000 });
    } catch (err) {
      const refused = (err as { code?: string }).code === 'ERR_SHARD_REFUSED';
      return { store: n.id, kind: 'silent', why: refused ? 'refuses the recovery key' : (err as Error).message, ...(refused && { refused }) };
    }
    if (!head) return { store: n.id, kind: 'none' };
    if (head.size > MAX_MANIFEST_BYTES) return { store: n.id, kind: 'unreadable', why: `${head.size} bytes` };
    try {
      return { store: n.id, kind: 'manifest', manifest: openManifest(key, await client.readRange(n, shard, 0, head.size, { timeoutMs: 10_000 })) };
    } catch (err) {
      return { store: n.id, kind: 'unreadable', why: (err as Error).message };
    }
  }));
}

/** chooseManifest, or the reason no manifest can be had at all. */
function decide(offers: Array<Offer & { refused?: boolean }>, asked: number): NonNullable<ReturnType<typeof chooseManifest>> {
  const choice = chooseManifest(offers);
  if (choice) return choice;
  const answering = offers.filter((o) => o.kind !== 'silent').length;
  const refused = offers.filter((o) => o.refused).length;
  if (refused > 0 && answering === 0) {
    throw new RecoveryError(`${refused} shard-store(s) refuse the recovery key derived from this master key: is it the right master key? ` +
      '(the gateway registers that key with every store at start and before each snapshot)');
  }
  throw new RecoveryError(answering === 0
    ? `none of the ${asked} shard-stores answered: check SHARDGATE_SHARD_STORES and that the stores run`
    : 'no store holds a snapshot manifest that opens with this master key: is it the right master key, and did the gateway ever take a snapshot?');
}

/** Which store holds each piece: the manifest's placement when it answers, else whoever has it. */
async function locatePieces(client: ShardClient, nodes: ShardNode[], m: SnapshotManifest): Promise<string[]> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const holds = async (n: ShardNode | undefined, i: number): Promise<boolean> => {
    if (!n) return false;
    try {
      return (await client.head(n, `${m.blob.id}.${i}`, { timeoutMs: 5_000 })) !== null;
    } catch {
      return false;
    }
  };
  const out: string[] = new Array<string>(N).fill('');
  await Promise.all(m.blob.placement.slice(0, N).map(async (id, i) => {
    if (await holds(byId.get(id), i)) out[i] = id;
  }));
  // Repair may have moved pieces since the manifest was written: look for the rest everywhere.
  await Promise.all(out.map(async (id, i) => {
    if (id) return;
    for (const n of nodes) {
      if (await holds(n, i)) {
        out[i] = n.id;
        return;
      }
    }
  }));
  return out;
}

async function readSnapshot(client: ShardClient, nodes: Map<string, ShardNode>, m: SnapshotManifest, placement: string[], master: Buffer, file: string): Promise<void> {
  const io: ShardIO = {
    openWriter: () => { throw new RecoveryError('recovery does not write pieces'); },
    deleteShard: () => Promise.reject(new RecoveryError('recovery does not delete pieces')),
    readRange: (nodeId, shardId, offset, length, signal) => {
      const n = nodes.get(nodeId);
      if (!n) return Promise.reject(new RecoveryError(`piece ${shardId} was not found on any store`));
      return client.readRange(n, shardId, offset, length, { signal });
    },
  };
  // Reading needs only the engine, the keys and the io; the metadata it would queue repairs in does not exist yet.
  const meta = { queueRepair: () => undefined } as unknown as MetaStore;
  const ctx: PipelineContext = {
    meta, io, engine: getEngine(), health: new NodeHealth(), masterKey: master, segmentSize: m.blob.segmentSize,
    writeQuorum: N, lateAckMs: 0, hedgeMs: 500, readTimeoutMs: 15_000, place: () => ({ nodes: placement, offline: new Set() }),
  };
  const blob: BlobRow = {
    id: m.blob.id, size: m.blob.size, segmentSize: m.blob.segmentSize, wrappedKey: Buffer.from(m.blob.wrappedKey, 'base64'),
    placement: placement.map((p, i) => p || `missing-${i}`), state: 'live', createdAt: m.createdAt,
  };
  const fh = await open(file, 'wx', 0o600);
  try {
    if (m.blob.size > 0) for await (const chunk of readBlob(ctx, blob, 0, m.blob.size - 1)) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function restoreSecrets(dir: string, m: SnapshotManifest): Promise<void> {
  const priv = m.gatewayKey;
  const pub: JWK = { kty: priv.kty, crv: priv.crv, x: priv.x, alg: priv.alg ?? 'EdDSA', use: 'sig', kid: priv.kid };
  await writeFile(join(dir, GATEWAY_KEY_FILE), `${JSON.stringify(priv, null, 2)}\n`, { mode: 0o600 });
  await writeFile(join(dir, GATEWAY_PUBLIC_KEY_FILE), `${JSON.stringify(pub, null, 2)}\n`, { mode: 0o644 });
  if (m.rootCredentials) {
    await writeFile(join(dir, 'root-credentials.json'), `${JSON.stringify(m.rootCredentials, null, 2)}\n`, { mode: 0o600 });
  }
}

/** Blob ids on the stores that the recovered metadata does not know (writes after the snapshot). */
async function unknownBlobs(minter: TokenMinter, nodes: ShardNode[], known: Set<string>, manifestShard: string): Promise<RecoveryReport['atRisk']> {
  const blobs = new Set<string>();
  let shardFiles = 0;
  await Promise.all(nodes.map(async (n) => {
    try {
      const token = await minter.token(n.id, 'list');
      const res = await request(`${n.url}/pieces`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
      if (res.statusCode !== 200) return void (await res.body.dump());
      const { shards } = await res.body.json() as ListPiecesResponse;
      for (const s of shards) {
        if (s === manifestShard) continue;
        const blob = s.slice(0, s.indexOf('.'));
        if (known.has(blob)) continue;
        blobs.add(blob);
        shardFiles++;
      }
    } catch {
      // a store that does not answer cannot tell us; the report says how many answered
    }
  }));
  return { blobs: [...blobs].sort(), shardFiles };
}
