import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { getEngine } from '../../codec/engine.js';
import { N } from '../../codec/erasure.js';
import type { ShardStoreRef } from '../config.js';
import type { MetaStore } from '../meta/meta-store.js';
import { openMetaStore } from '../meta/open.js';
import { checkMetaFile, openRecoveredMeta, type RecoveredMeta } from '../meta/recovered.js';
import { pieceMapOf, replayJournal, type PieceMap } from '../journal/replay.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { ensurePrivateDir, securePrivateFolder } from '../secrets.js';
import { NodeHealth } from '../pipeline/health.js';
import { readBlob } from '../pipeline/read-blob.js';
import type { ShardIO } from '../pipeline/shard-io.js';
import { ShardClient, type ShardNode } from '../shards/client.js';
import { GATEWAY_KEY_FILE, GATEWAY_PUBLIC_KEY_FILE } from '../shards/keys.js';
import { MemoryPins } from '../shards/pins.js';
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
  /** The metadata journal replayed over the snapshot (null: the snapshot names none, from an older release). */
  journal: { epoch: string; entries: number; rows: number; lastAt: string | null; unreadable: number[] } | null;
  /**
   * Blobs found on the shard-stores that the recovered metadata does not know: writes never
   * acknowledged, or garbage not yet deleted (or, with unreadable journal entries, writes
   * that were). Their objects are not in the recovered metadata.
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
  // Stores given with a pin must present that key; the others are pinned on first contact.
  const pins = new MemoryPins(opts.stores.flatMap((s) => (s.pin ? [[s.id, s.pin] as const] : [])));
  const client = new ShardClient({ identity: key.tls, pins, connections: 4 });
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
    for (const n of manifest.nodes) {
      if (!nodes.has(n.id)) log(`note: the snapshot knows shard-store ${n.id} (${n.url}), which SHARDGATE_SHARD_STORES does not list`);
      const seen = pins.pinOf(n.id);
      if (n.pin && seen && seen !== n.pin) {
        log(`warning: shard-store ${n.id} now presents key ${seen}, not ${n.pin} as when the snapshot was taken: a replaced disk, or not the same store; ` +
          `the recovered gateway will refuse it until \`shardgate admin join ${n.id} URL\``);
      }
    }

    const placement = await locatePieces(client, [...nodes.values()], manifest);
    const found16 = placement.filter((p) => p !== '').length;
    log(`snapshot blob ${manifest.blob.id}: ${found16} of ${N} pieces found; reading ${manifest.blob.size} bytes…`);
    ensurePrivateDir(opts.dataDir, log);
    const tmp = join(opts.dataDir, `meta.db.recover${randomBytes(4).toString('hex')}`);
    const scratch = await scratchMeta(opts.dataDir);
    try {
      await readSnapshot(client, nodes, manifest, placement, opts.masterKey, tmp, scratch.meta);
      const ok = checkMetaFile(tmp);
      if (ok !== 'ok') throw new RecoveryError(`the snapshot is not a sound SQLite file (${ok})`);
      log('listing what every shard-store holds…');
      const listings = await listAll(client, [...nodes.values()]);
      const pieceMap = pieceMapOf(listings);
      const db = openRecoveredMeta(tmp);
      let counts: { buckets: number; objects: number; blobs: number };
      let known: Set<string>;
      let journal: RecoveryReport['journal'] = null;
      try {
        if (manifest.journal) journal = await replayInto(db, manifest.journal, pieceMap, client, nodes, opts.masterKey, scratch.meta, log);
        // The recovered gateway writes a new epoch: entries of the old one past the last replayed may exist half-written.
        db.forgetJournalPosition();
        counts = db.counts();
        known = db.knownBlobIds();
      } finally {
        db.close();
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
      const atRisk = unknownBlobs(listings, known, manifestShardId(opts.masterKey));
      return {
        dataDir: opts.dataDir,
        snapshot: { seq: manifest.seq, createdAt: new Date(manifest.createdAt).toISOString(), bytes: manifest.blob.size },
        storesAsked: nodes.size, storesAnswering: answering, manifestsFound: found, ...counts, journal, atRisk,
        offers: offers.map((o) => ({ store: o.store, offered: describeOffer(o) })), heldBack: choice.heldBack, forced: opts.force ? choice.objections : [],
      };
    } finally {
      await rm(tmp, { force: true });
      await scratch.drop();
    }
  } finally {
    await client.close();
  }
}

/**
 * The metadata the read path works with while there is none yet: a scratch MetaStore beside
 * the folder being restored, dropped when recovery ends. Reading records there what it finds
 * (a piece queued for repair, a forged piece counted against its store); the roots it would
 * prove pieces with are not there, so a piece that fails authentication stops the read with
 * that error: bytes are never guessed.
 */
async function scratchMeta(dir: string): Promise<{ meta: MetaStore; drop(): Promise<void> }> {
  const file = join(dir, `meta.db.scratch${randomBytes(4).toString('hex')}`);
  const meta = await openMetaStore(file);
  return {
    meta,
    drop: async () => {
      await meta.close();
      for (const ext of ['', '-wal', '-shm']) await rm(file + ext, { force: true });
    },
  };
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

/** Reads only: recovery never writes or deletes a piece. */
function recoveryIO(client: ShardClient, nodes: Map<string, ShardNode>): ShardIO {
  return {
    openWriter: () => { throw new RecoveryError('recovery does not write pieces'); },
    deleteShard: () => Promise.reject(new RecoveryError('recovery does not delete pieces')),
    readRecord: (nodeId, shardId, seg, offset, length, signal) => {
      const n = nodes.get(nodeId);
      if (!n) return Promise.reject(new RecoveryError(`piece ${shardId} was not found on any store`));
      return client.readRecord(n, shardId, seg, offset, length, { signal });
    },
  };
}

async function readSnapshot(
  client: ShardClient, nodes: Map<string, ShardNode>, m: SnapshotManifest, placement: string[], master: Buffer, file: string, meta: MetaStore,
): Promise<void> {
  const io = recoveryIO(client, nodes);
  const ctx: PipelineContext = {
    meta, io, engine: getEngine(), health: new NodeHealth(), masterKey: master, segmentSize: m.blob.segmentSize,
    writeQuorum: N, lateAckMs: 0, hedgeMs: 500, readTimeoutMs: 15_000, place: async () => ({ nodes: placement, offline: new Set() }),
  };
  const blob: BlobRow = {
    id: m.blob.id, size: m.blob.size, segmentSize: m.blob.segmentSize, wrappedKey: Buffer.from(m.blob.wrappedKey, 'base64'),
    placement: placement.map((p, i) => p || `missing-${i}`), state: 'live', createdAt: m.createdAt,
  };
  const fh = await open(file, 'wx', 0o600);
  try {
    if (m.blob.size > 0) for await (const chunk of readBlob(ctx, blob, 0, m.blob.size - 1)) await fh.write(chunk);
    await fh.sync();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_DECRYPT') throw err;
    // Recovery keys may not ask for proven records, and the manifest keeps no roots: which piece lied cannot be told here.
    throw new RecoveryError(`the snapshot blob does not authenticate (${(err as Error).message}): a shard-store served a forged or damaged piece. ` +
      'Any 10 stores rebuild it: run again with the stores you suspect left out of SHARDGATE_SHARD_STORES', { cause: err });
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

/** Every shard id each answering store holds; a store that does not answer is left out (the report says how many did). */
async function listAll(client: ShardClient, nodes: ShardNode[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await Promise.all(nodes.map(async (n) => {
    try {
      out.set(n.id, await client.listPieces(n));
    } catch {
      // a store that does not answer cannot tell us
    }
  }));
  return out;
}

/**
 * Replay the journal entries that follow the snapshot, and remember every journal blob seen
 * so that the recovered gateway frees them once its own snapshots make them unneeded.
 */
async function replayInto(
  db: RecoveredMeta, from: { epoch: string; from: number }, pieces: PieceMap, client: ShardClient, nodes: Map<string, ShardNode>, master: Buffer,
  meta: MetaStore, log: (line: string) => void,
): Promise<RecoveryReport['journal']> {
  const io: ShardIO = recoveryIO(client, nodes);
  const report = await replayJournal(db, from.epoch, from.from, {
    ctx: { io, engine: getEngine(), health: new NodeHealth(), masterKey: master, hedgeMs: 500, readTimeoutMs: 15_000, meta },
    pieces,
    recordLength: async (nodeId, shardId) => {
      const n = nodes.get(nodeId);
      return n ? ((await client.head(n, shardId, { timeoutMs: 10_000 }))?.size ?? null) : null;
    },
    log,
  });
  db.recountBucketUsage();
  db.recordJournalBlobs(from.epoch, report.blobs.map((b) => {
    const held = pieces.get(b.id)!;
    return { id: b.id, seq: b.seq, placement: Array.from({ length: N }, (_, i) => held.get(i)?.[0] ?? '') };
  }), Date.now());
  const applied = report.last - report.from + 1;
  log(applied > 0
    ? `replayed ${applied} journal entr${applied === 1 ? 'y' : 'ies'} (${report.rows} rows), up to ${new Date(report.lastAt!).toISOString()}`
    : 'no journal entries after the snapshot');
  if (report.unreadable.length) {
    log(`NOT RESTORED: journal entr${report.unreadable.length === 1 ? 'y' : 'ies'} ${report.unreadable.join(', ')} could not be read ` +
      '(too few pieces on the stores that answered): the changes in them are missing');
  }
  return { epoch: report.epoch, entries: applied, rows: report.rows, lastAt: report.lastAt === null ? null : new Date(report.lastAt).toISOString(), unreadable: report.unreadable };
}

/** Blob ids on the stores that the recovered metadata does not know (writes after the last journal entry). */
function unknownBlobs(listings: Map<string, string[]>, known: Set<string>, manifestShard: string): RecoveryReport['atRisk'] {
  const blobs = new Set<string>();
  let shardFiles = 0;
  for (const shards of listings.values()) {
    {
      for (const s of shards) {
        if (s === manifestShard) continue;
        const blob = s.slice(0, s.indexOf('.'));
        if (known.has(blob)) continue;
        blobs.add(blob);
        shardFiles++;
      }
    }
  }
  return { blobs: [...blobs].sort(), shardFiles };
}
