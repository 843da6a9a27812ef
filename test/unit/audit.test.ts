import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine, referenceEngine, type Engine } from '../../codec/engine.js';
import { N } from '../../codec/erasure.js';
import { pieceRecord } from '../../codec/segment.js';
import { Auditor } from '../../gateway/audit/auditor.js';
import { challengePiece, checkAnswer } from '../../gateway/audit/challenge.js';
import type { TrustConfig } from '../../gateway/audit/config.js';
import { auditedSegmentEncoder, RootCollector } from '../../gateway/audit/roots.js';
import { auditStoreFor, type AuditTarget } from '../../gateway/meta/audit-store.js';
import { ShardClient } from '../../gateway/shards/client.js';
import { loadOrCreateGatewayKey } from '../../gateway/shards/keys.js';
import { MemoryPins } from '../../gateway/shards/pins.js';
import { recoveryKey } from '../../gateway/snapshot/keys.js';
import { ManifestError, openManifest, sealManifest, type SnapshotManifest } from '../../gateway/snapshot/manifest.js';
import { merkleProof, merkleRoot, verifyMerkleProof } from '../../shard-store/merkle.js';
import type { AuditChallengeResponse } from '../../shard-store/protocol.js';
import { startShardStoreServer } from '../../shard-store/server.js';
import { loadTrustedKeys } from '../../shard-store/peers.js';
import { onClose } from '../helpers/registry.js';
import { rotShardOnDisk } from '../helpers/shards-on-disk.js';
import { startFixture, type Fixture } from './admin-fixture.js';

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-audit-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Encode a blob the way put-blob does: each shard's records, and the roots. */
async function encodeBlob(engine: Engine, size: number, segmentSize: number): Promise<{ files: Buffer[][]; roots: Buffer[] }> {
  const enc = auditedSegmentEncoder(engine, randomBytes(32));
  const roots = new RootCollector();
  const files: Buffer[][] = Array.from({ length: N }, () => []);
  const data = randomBytes(size);
  for (let i = 0, off = 0; off < size; i++, off += segmentSize) {
    const seg = await enc.encode(data.subarray(off, off + segmentSize), i);
    roots.add(seg);
    for (let p = 0; p < N; p++) files[p]!.push(Buffer.concat(pieceRecord(seg, p)));
  }
  enc.md5();
  return { files, roots: roots.roots() };
}

describe('audit hash tree', () => {
  it('proves every leaf of trees of 1 to 9 leaves, and nothing else', async () => {
    for (let n = 1; n <= 9; n++) {
      const leaves = Array.from({ length: n }, () => randomBytes(32));
      const root = merkleRoot(leaves);
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i);
        expect(verifyMerkleProof(leaves[i]!, i, n, proof, root), `${i}/${n}`).toBe(true);
        expect(verifyMerkleProof(randomBytes(32), i, n, proof, root)).toBe(false);
        if (n > 1) expect(verifyMerkleProof(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, i, n, [...proof, randomBytes(32)], root)).toBe(false);
      }
    }
  });

  it('gives the same piece hashes with the native and the reference engine', async () => {
    const key = randomBytes(32);
    const plain = randomBytes(10_000);
    const a = await auditedSegmentEncoder(getEngine(), key).encode(plain, 0);
    const b = await auditedSegmentEncoder(referenceEngine(), key).encode(plain, 0);
    expect(a.hashes!.map((h) => h.toString('hex'))).toEqual(b.hashes!.map((h) => h.toString('hex')));
    expect(sha(a.data.subarray(0, a.pieceSize))).toEqual(a.hashes![0]);
  });
});

describe('audit challenges against a shard-store', () => {
  async function setup(lie = false) {
    const dir = await tempDir();
    const key = await loadOrCreateGatewayKey(join(dir, 'gw'));
    const server = await startShardStoreServer({ id: 'ss-a', dir: join(dir, 'data'), trustedKeys: await loadTrustedKeys([key.publicKeyFile]), lieOnChallenge: lie });
    onClose(() => server.close(200));
    const client = new ShardClient({ identity: key.tls, pins: new MemoryPins(), connections: 2 });
    onClose(() => client.close());
    const node = { id: 'ss-a', url: server.url, zone: 'zone-1' };
    const put = async (shard: string, records: Buffer[]): Promise<void> => {
      const w = client.openShardWriter(node, shard);
      for (const r of records) await w.write([r]);
      await w.end();
    };
    return { dir, server, client, node, put };
  }
  // 5 segments of 4 KiB plus a short one: records of two sizes, an odd leaf count.
  const SIZE = 5 * 4096 + 123;

  it('passes an honest store (leaves from its index, no file read but the records named)', async () => {
    const s = await setup();
    const { files, roots } = await encodeBlob(getEngine(), SIZE, 4096);
    const blobId = randomBytes(16).toString('hex');
    await s.put(`${blobId}.7`, files[7]!);
    const target: AuditTarget = { blobId, piece: 7, size: SIZE, segmentSize: 4096, root: roots[7]! };
    expect(await challengePiece(s.client, s.node, target, 6, 5_000)).toEqual({ outcome: 'pass', detail: null });
    expect(await challengePiece(s.client, s.node, target, 3, 5_000)).toMatchObject({ outcome: 'pass' });
    // The wrong root (another piece's) fails.
    expect(await challengePiece(s.client, s.node, { ...target, root: roots[6]! }, 1, 5_000)).toMatchObject({ outcome: 'wrong' });
  });

  it('catches flipped bytes on disk (the store finds them itself and admits the loss), a missing piece and a lying store', async () => {
    const s = await setup();
    const { files, roots } = await encodeBlob(getEngine(), SIZE, 4096);
    const blobId = randomBytes(16).toString('hex');
    await s.put(`${blobId}.2`, files[2]!);
    const target: AuditTarget = { blobId, piece: 2, size: SIZE, segmentSize: 4096, root: roots[2]! };
    expect(await challengePiece(s.client, s.node, target, 6, 5_000)).toMatchObject({ outcome: 'pass' });
    // The store runs in this process: let its index commit window (100 ms) close before the
    // index is read from outside (a synchronous wait in the helper would hold the commit up).
    await new Promise((r) => setTimeout(r, 250));
    expect(rotShardOnDisk(join(s.dir, 'data'), `${blobId}.2`, 420 + 100)).toBe(true); // record 1 (records of 4 KiB segments are 416 + 4 bytes)
    expect(await challengePiece(s.client, s.node, target, 6, 5_000)).toMatchObject({ outcome: 'missing' });
    expect(await challengePiece(s.client, s.node, { ...target, blobId: randomBytes(16).toString('hex') }, 1, 5_000)).toMatchObject({ outcome: 'missing' });

    const liar = await setup(true);
    await liar.put(`${blobId}.2`, files[2]!);
    expect(await challengePiece(liar.client, liar.node, target, 2, 5_000)).toMatchObject({ outcome: 'wrong' });
  });

  it('accepts a registered recovery key for reads only, across a restart, and lists pieces', async () => {
    const s = await setup();
    const master = randomBytes(32);
    const rk = await recoveryKey(master);
    await s.client.trustKey(s.node, rk.publicJwk);
    const shard = `${randomBytes(16).toString('hex')}.0`;
    await s.put(shard, [Buffer.from('hello')]);
    const rclient = new ShardClient({ identity: rk.tls, pins: new MemoryPins(), connections: 1 });
    onClose(() => rclient.close());
    expect((await rclient.readRange(s.node, shard, 0, 5)).toString()).toBe('hello');
    await expect(rclient.deleteShard(s.node, shard)).rejects.toMatchObject({ status: 403 });
    expect(await rclient.listPieces(s.node)).toEqual([shard]);
    // Same data folder, new process: the recovery key is still trusted.
    await s.server.close(100);
    const again = await startShardStoreServer({ id: 'ss-a', dir: join(s.dir, 'data'), trustedKeys: await loadTrustedKeys([join(s.dir, 'gw', 'gateway-key.pub.jwk')]) });
    onClose(() => again.close(100));
    expect((await rclient.readRange({ ...s.node, url: again.url }, shard, 0, 5)).toString()).toBe('hello');
  });
});

describe('audit answers from an untrusted store', () => {
  it('any JSON in place of a record, its proof or its count is a wrong answer, not a TypeError', async () => {
    const target: AuditTarget = { blobId: '0'.repeat(32), piece: 3, size: 40_000, segmentSize: 4096, root: Buffer.alloc(32) };
    const record = { index: 2, data: 'AAAA', proof: [] as unknown[] };
    // JSON.parse makes own properties named toString: String() of such a value throws.
    const hostile = JSON.parse('{"toString":1,"valueOf":1}') as unknown;
    for (const body of [null, 7, 'x', [], { leafCount: 10, records: [null] }, { leafCount: 10, records: [3] }, { leafCount: 10, records: [[record]] },
      { leafCount: hostile, records: [record] }, { leafCount: 10, records: [{ ...record, proof: [hostile] }] }, { leafCount: 10, records: [{ ...record, proof: [1] }] }]) {
      expect(checkAnswer('s', target, [2], body as unknown as AuditChallengeResponse, 10), JSON.stringify(body)).toMatchObject({ outcome: 'wrong' });
    }
  });
});

describe('snapshot manifest', () => {
  it('opens only with the master key it was sealed with', async () => {
    const m: SnapshotManifest = {
      v: 1, seq: 3, createdAt: 1, blob: { id: 'a'.repeat(32), size: 10, segmentSize: 4096, wrappedKey: '', placement: [] },
      gatewayKey: { kty: 'OKP' }, nodes: [],
    };
    const k = randomBytes(32);
    const sealed = sealManifest(k, m);
    expect(openManifest(k, sealed)).toEqual(m);
    expect(() => openManifest(randomBytes(32), sealed)).toThrow(ManifestError);
    sealed[20]! ^= 1;
    expect(() => openManifest(k, sealed)).toThrow(ManifestError);
  });
});

describe('audit scores', () => {
  const CFG: TrustConfig = {
    auditIntervalMs: 0, auditPieces: 4, auditRecords: 2, auditTimeoutMs: 2_000, scoreAlpha: 0.25, suspectBelow: 0.8, lostBelow: 0.45,
    scrubRate: 0, scrubIntervalMs: 0, reportPeriodMs: 86_400_000, snapshotIntervalMs: 0, snapshotsKept: 3,
  };

  /** The fixture's in-memory stores answering audit challenges as a shard-store does (honestly, unless lieOnProof). */
  function challengeClient(fx: Fixture): ShardClient {
    return {
      auditChallenge: async (node: { id: string }, shard: string, recordSize: number, indices: number[]) => {
        const proven = await Promise.all(indices.map((i) => fx.stores.readProvenRecord(node.id, shard, i, recordSize)));
        return {
          leafCount: proven[0]!.leafCount,
          records: proven.map((r, k) => ({ index: indices[k]!, data: r.record.toString('base64'), proof: r.proof.map((h) => h.toString('hex')) })),
        };
      },
    } as unknown as ShardClient;
  }

  it('a store that lies on reads but answers challenges honestly fails its next round', async () => {
    const fx = await startFixture({ nodes: 16, zones: 4 });
    const { body, blobId } = await fx.put('k', 10_000);
    const liar = (await fx.meta.getBlob(blobId))!.placement[2]!;
    const honest = (await fx.meta.getBlob(blobId))!.placement[3]!;
    const auditor = new Auditor(fx.meta, fx.nodes, auditStoreFor(fx.meta.db), challengeClient(fx), CFG);
    expect(await auditor.auditNode(liar)).toMatchObject({ challenged: 1, servedWrong: 0, passed: true, score: 1, state: 'active' });

    // A read catches the liar's forged piece (reads around it), which transfer/lies.ts records as a wrong answer.
    fx.stores.lieOnRead.add(liar);
    expect((await fx.read(blobId)).equals(body)).toBe(true);
    const failed = await auditor.auditNode(liar);
    expect(failed).toMatchObject({ challenged: 1, outcomes: { pass: 1, wrong: 0 }, servedWrong: 1, passed: false, score: 0.75, state: 'suspect' });
    expect(failed!.detail).toMatch(/served 1 wrong piece/);
    // Another holder of the same blob keeps its score.
    expect(await auditor.auditNode(honest)).toMatchObject({ servedWrong: 0, passed: true, score: 1 });

    // Counted once: the next round, by this process or a restarted one, starts after it.
    const restarted = new Auditor(fx.meta, fx.nodes, auditStoreFor(fx.meta.db), challengeClient(fx), CFG);
    expect(await restarted.auditNode(liar)).toMatchObject({ servedWrong: 0, passed: true, score: 0.8125, state: 'active' });
  });

  it("a round's own wrong answers are not counted again as served", async () => {
    const fx = await startFixture({ nodes: 16, zones: 4 });
    const { blobId } = await fx.put('k', 10_000);
    const node = (await fx.meta.getBlob(blobId))!.placement[5]!;
    const auditor = new Auditor(fx.meta, fx.nodes, auditStoreFor(fx.meta.db), challengeClient(fx), CFG);
    fx.stores.lieOnProof.add(node);
    expect(await auditor.auditNode(node)).toMatchObject({ outcomes: { wrong: 1 }, servedWrong: 0, passed: false, score: 0.75 });
    fx.stores.lieOnProof.delete(node);
    expect(await auditor.auditNode(node)).toMatchObject({ outcomes: { pass: 1, wrong: 0 }, servedWrong: 0, passed: true, score: 0.8125 });
  });
});
