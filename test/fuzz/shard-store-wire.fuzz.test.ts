/**
 * The shard-store wire format, both sides: HTTP routes and ranges, audit challenge bodies,
 * trusted keys, hash-tree proofs, the frames of the piece protocol (batch-frames.ts), audit
 * answers and the leaves sidecar, then a store process fed random HTTP requests and random
 * piece-protocol frames over mutual TLS. A store must answer everything with a typed error
 * and never a 500 (nor an internal-error frame); the gateway must judge any answer a store gives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRange, segmentCount } from '../../codec/layout.js';
import { referenceEngine } from '../../codec/engine.js';
import { pieceRecord } from '../../codec/segment.js';
import { checkAnswer } from '../../gateway/audit/challenge.js';
import type { AuditTarget } from '../../gateway/meta/audit-store.js';
import { loadOrCreateGatewayKey, type GatewayKey } from '../../gateway/shards/keys.js';
import {
  BatchOp, BatchStatus, decodeRequestHeader, encodeRequestHeader, FrameError, FrameParser, OwnedFrameParser, PIECE_PROTOCOL, REQUEST_HEADER_BYTES, RESULT_HEADER_BYTES,
  requestPayload, resultPayload, type BatchRequest,
} from '../../shard-store/batch-frames.js';
import { answerAuditChallenge, parseAuditChallenge } from '../../shard-store/challenge.js';
import { ForbiddenError, RequestError } from '../../shard-store/errors.js';
import { HASH_BYTES, merkleProof, merkleRoot, verifyMerkleProof } from '../../shard-store/merkle.js';
import { authorize, loadTrustedKeys, trustedKey } from '../../shard-store/peers.js';
import { ShardStore } from '../../shard-store/pieces.js';
import {
  CHALLENGE_MAX_NONCE_BYTES, CHALLENGE_MAX_RECORD_BYTES, CHALLENGE_MAX_RECORDS, RECOVERY_OPS, SHARD_ID_RE, SHARD_OPS, type AuditChallengeResponse, type ShardOp,
} from '../../shard-store/protocol.js';
import { parseRange, parseRoute } from '../../shard-store/routes.js';
import { startShardStoreServer, type ShardStoreServer } from '../../shard-store/server.js';
import { loadLeaves, sidecarPath } from '../../shard-store/sidecar.js';
import { identityFromKey, newIdentityKey, type TlsIdentity } from '../../wire/identity.js';
import { check, HANG_MS, hostileString, mutated, outcome, outcomeAsync, splitBuffer, splits, valueOf } from './fuzz.js';

const STORE = 'ss-fuzz';
const shardIdArb = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(15)).map(([b, i]) => `${Buffer.from(b).toString('hex')}.${i}`);
const hex = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'.split('')), maxLength });
/** JSON as a store or a gateway might send it: the real shape, damaged shapes, anything. */
const anyJsonValue = fc.jsonValue({ maxDepth: 3 });

describe('store-side parsers: a value or RequestError, in bounded time', () => {
  it('parseRoute: only well-formed shard ids reach a handler', () => {
    const url = fc.oneof(
      shardIdArb.map((id) => `/pieces/${id}`),
      mutated(shardIdArb.map((id) => `/pieces/${id}?x=1`), 3),
      fc.constantFrom('/pieces', '/status', '/challenge', '/trusted-keys', '/', '', '/pieces/../../etc/passwd', '/pieces/%2e%2e%2f', '/pieces//x'),
      hostileString(6).map((s) => `/${s}`),
    );
    const method = fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST', 'PATCH', 'get', '', undefined);
    check(fc.property(method, fc.option(url, { nil: undefined }), (m, u) => {
      const r = outcome(() => parseRoute(m, u), [RequestError]);
      if (r.ok && 'shardId' in r.value) expect(r.value.shardId).toMatch(SHARD_ID_RE);
    }));
  });

  it('parseRange: a range inside the piece, null, or RequestError', () => {
    const header = fc.oneof(
      fc.tuple(fc.option(fc.nat(2000), { nil: undefined }), fc.option(fc.nat(2000), { nil: undefined })).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
      mutated(fc.constantFrom('bytes=0-99', 'bytes=-5', 'bytes=10-'), 3),
      fc.constantFrom('bytes=99999999999999999999-', 'bytes=1e3-', 'bytes=0-1,2-3', 'bytes = 0-1', 'items=0-1'),
    );
    check(fc.property(fc.option(header, { nil: undefined }), fc.nat(1500), (h, size) => {
      const r = outcome(() => parseRange(h, size), [RequestError]);
      if (r.ok && r.value) {
        expect(Number.isSafeInteger(r.value.start) && Number.isSafeInteger(r.value.end)).toBe(true);
        expect(0 <= r.value.start && r.value.start <= r.value.end && r.value.end < size).toBe(true);
      }
    }));
  });

  it('parseAuditChallenge: bodies within the limits, or RequestError', () => {
    const body = fc.oneof(
      anyJsonValue,
      fc.record({
        shardId: fc.oneof(shardIdArb, anyJsonValue), nonce: fc.oneof(hex(200), anyJsonValue),
        recordSize: fc.oneof(fc.integer(), fc.double(), anyJsonValue), indices: fc.oneof(fc.array(fc.oneof(fc.integer(), fc.double(), anyJsonValue), { maxLength: 20 }), anyJsonValue),
      }, { requiredKeys: [] }),
    );
    check(fc.property(body, (b) => {
      fc.pre(typeof b === 'object' && b !== null && !Array.isArray(b));
      const a = outcome(() => parseAuditChallenge(b as Record<string, unknown>), [RequestError]);
      if (a.ok) {
        expect(a.value.shardId).toMatch(SHARD_ID_RE);
        expect(a.value.indices.length).toBeGreaterThan(0);
        expect(a.value.indices.length).toBeLessThanOrEqual(CHALLENGE_MAX_RECORDS);
        expect(a.value.indices.every((i) => Number.isSafeInteger(i) && i >= 0)).toBe(true);
        expect(a.value.recordSize).toBeLessThanOrEqual(CHALLENGE_MAX_RECORD_BYTES);
        expect(a.value.nonce.length).toBeLessThanOrEqual(2 * CHALLENGE_MAX_NONCE_BYTES);
      }
    }));
  });
});

// ---------------------------------------------------------------------------------------
// Hash-tree proofs

const leaves = fc.uniqueArray(fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 70, selector: (b) => b.toString('hex') });

describe('hash-tree proofs', () => {
  // The leaf count is the gateway's own (it checks the store's against it), so it is not varied here.
  it('every leaf proves against the root; a changed leaf, proof, index or root does not', () => {
    check(fc.property(leaves, fc.nat(), fc.nat(), fc.constantFrom('leaf', 'proof', 'index', 'root', 'drop', 'extra'), (ls, i0, bit, change) => {
      const i = i0 % ls.length;
      const root = merkleRoot(ls);
      const proof = merkleProof(ls, i);
      expect(verifyMerkleProof(ls[i]!, i, ls.length, proof, root)).toBe(true);
      const flip = (b: Buffer): Buffer => {
        const c = Buffer.from(b);
        c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
        return c;
      };
      let ok: boolean;
      switch (change) {
        case 'leaf': ok = verifyMerkleProof(flip(ls[i]!), i, ls.length, proof, root); break;
        case 'proof':
          fc.pre(proof.length > 0);
          ok = verifyMerkleProof(ls[i]!, i, ls.length, proof.map((p, k) => (k === bit % proof.length ? flip(p) : p)), root);
          break;
        case 'index':
          fc.pre(ls.length > 1);
          ok = verifyMerkleProof(ls[i]!, (i + 1 + (bit % (ls.length - 1))) % ls.length, ls.length, proof, root);
          break;
        case 'root': ok = verifyMerkleProof(ls[i]!, i, ls.length, proof, flip(root)); break;
        case 'drop': fc.pre(proof.length > 0); ok = verifyMerkleProof(ls[i]!, i, ls.length, proof.slice(1), root); break;
        case 'extra': ok = verifyMerkleProof(ls[i]!, i, ls.length, [...proof, ls[0]!], root); break;
      }
      expect(ok).toBe(false);
    }));
  });

  it('verifyMerkleProof judges any proof a store sends without throwing', () => {
    const junk = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.constant(Buffer.alloc(0)));
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(NaN, Infinity, -0, 2 ** 53));
    check(fc.property(junk, num, num, fc.array(junk, { maxLength: 12 }), junk, (leaf, index, count, proof, root) => {
      valueOf(outcome(() => verifyMerkleProof(leaf, index, count, proof, root), []));
    }));
  });
});

// ---------------------------------------------------------------------------------------
// Who may talk to a store

let key: GatewayKey;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shardgate-fuzz-'));
  key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trusted keys', () => {
  it('a key allowed some operations may use exactly those', () => {
    const ops = fc.subarray([...SHARD_OPS]);
    check(fc.property(fc.option(ops, { nil: undefined }), fc.constantFrom<ShardOp>(...SHARD_OPS), (allowed, op) => {
      const k = trustedKey(newIdentityKey(), 'k', allowed && new Set(allowed));
      expect(outcome(() => authorize(k, op), [ForbiddenError]).ok).toBe(allowed === undefined || allowed.includes(op));
    }), 0.25);
  });
});

// ---------------------------------------------------------------------------------------
// Piece protocol frames

const requestArb: fc.Arbitrary<BatchRequest> = fc.record({
  op: fc.constantFrom(BatchOp.Put, BatchOp.Get, BatchOp.Delete, BatchOp.Head),
  flags: fc.nat(255), id: fc.nat(0xffffffff), blob: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
  piece: fc.nat(255), seg: fc.nat(0xffffffff), offset: fc.nat(Number.MAX_SAFE_INTEGER), length: fc.nat(0xffffffff),
});

describe('piece protocol frames', () => {
  it('a request header decodes to what was encoded', () => {
    check(fc.property(requestArb, (r) => {
      expect(decodeRequestHeader(encodeRequestHeader(r))).toEqual(r);
    }));
  });

  it('frames split anywhere come out whole, in order, payloads as sent', () => {
    const frame = fc.tuple(requestArb, fc.uint8Array({ maxLength: 300 })).map(([r, data]) => {
      const payload = r.op === BatchOp.Put ? Buffer.from(data) : Buffer.alloc(0);
      return { header: encodeRequestHeader({ ...r, length: r.op === BatchOp.Put ? payload.length : r.length }), payload };
    });
    check(fc.property(fc.array(frame, { maxLength: 8 }), splits(), (frames, cuts) => {
      const parser = new FrameParser(REQUEST_HEADER_BYTES, requestPayload, 1024);
      const got: Array<{ header: Buffer; payload: Buffer }> = [];
      for (const chunk of splitBuffer(Buffer.concat(frames.flatMap((f) => [f.header, f.payload])), cuts)) {
        for (const f of parser.push(chunk)) got.push({ header: f.header, payload: Buffer.concat(f.payload) });
      }
      expect(got).toEqual(frames);
      expect(parser.pending).toBe(0);
    }));
  });

  it('the gateway’s copying parser: the same frames from chunks of one read buffer that is overwritten after every push', () => {
    const frame = fc.tuple(fc.nat(0xffffffff), fc.uint8Array({ maxLength: 300 })).map(([id, data]) => {
      const header = Buffer.alloc(RESULT_HEADER_BYTES);
      header.writeUInt32LE(id, 0);
      header.writeUInt32LE(data.length, 8);
      return { header, payload: Buffer.from(data) };
    });
    check(fc.property(fc.array(frame, { maxLength: 8 }), splits(), (frames, cuts) => {
      const parser = new OwnedFrameParser(RESULT_HEADER_BYTES, resultPayload, 1024, (n) => Buffer.alloc(n));
      const readBuffer = Buffer.alloc(2048);
      const got: Array<{ header: Buffer; payload: Buffer }> = [];
      for (const chunk of splitBuffer(Buffer.concat(frames.flatMap((f) => [f.header, f.payload])), cuts)) {
        const n = chunk.copy(readBuffer);
        got.push(...parser.push(readBuffer.subarray(0, n)));
        readBuffer.fill(0xee);
      }
      expect(got).toEqual(frames);
    }));
  });

  it('the copying parser read as a link reads: large payloads in place, the rest through the shared buffer, same frames', () => {
    const frame = fc.uint8Array({ maxLength: 300 }).map((data) => {
      const header = Buffer.alloc(RESULT_HEADER_BYTES);
      header.writeUInt32LE(data.length, 8);
      return { header, payload: Buffer.from(data) };
    });
    check(fc.property(fc.array(frame, { maxLength: 8 }), splits(), fc.integer({ min: 1, max: 200 }), (frames, cuts, min) => {
      const parser = new OwnedFrameParser(RESULT_HEADER_BYTES, resultPayload, 1024, (n) => Buffer.alloc(n));
      const readBuffer = Buffer.alloc(64);
      const got: Array<{ header: Buffer; payload: Buffer }> = [];
      // As TLS hands a decrypted record to onread: in pieces no longer than the buffer it is given.
      for (let chunk of splitBuffer(Buffer.concat(frames.flatMap((f) => [f.header, f.payload])), cuts)) {
        while (chunk.length) {
          const into = parser.target(min) ?? readBuffer;
          const n = chunk.copy(into);
          chunk = chunk.subarray(n);
          got.push(...(into === readBuffer ? parser.push(readBuffer.subarray(0, n)) : parser.filled(n)));
          readBuffer.fill(0xee);
        }
      }
      expect(got).toEqual(frames);
    }));
  });

  it('any bytes: frames within the payload limit, or FrameError as soon as a header announces more', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), fc.constant(Buffer.alloc(0)));
    check(fc.property(fc.array(bytes, { maxLength: 6 }), fc.constantFrom('request', 'result'), (chunks, side) => {
      const [headerBytes, payloadOf] = side === 'request' ? [REQUEST_HEADER_BYTES, requestPayload] : [RESULT_HEADER_BYTES, resultPayload];
      const parser = new FrameParser(headerBytes, payloadOf, 200);
      for (const c of chunks) {
        const r = outcome(() => parser.push(c), [FrameError]);
        if (!r.ok) return;
        for (const f of r.value) {
          expect(f.header.length).toBe(headerBytes);
          expect(f.payload.reduce((n, b) => n + b.length, 0)).toBe(payloadOf(f.header));
          expect(payloadOf(f.header)).toBeLessThanOrEqual(200);
        }
        expect(parser.pending).toBeLessThan(headerBytes + 200);
      }
    }));
  });

  it('any bytes into the copying parser: frames within the payload limit, or FrameError', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), fc.constant(Buffer.alloc(0)));
    check(fc.property(fc.array(bytes, { maxLength: 6 }), (chunks) => {
      const parser = new OwnedFrameParser(RESULT_HEADER_BYTES, resultPayload, 200, (n) => Buffer.alloc(n));
      for (const c of chunks) {
        const r = outcome(() => parser.push(c), [FrameError]);
        if (!r.ok) return;
        for (const f of r.value) {
          expect(f.header.length).toBe(RESULT_HEADER_BYTES);
          expect(f.payload.length).toBe(resultPayload(f.header));
          expect(f.payload.length).toBeLessThanOrEqual(200);
        }
      }
    }));
  });
});

// ---------------------------------------------------------------------------------------
// Audits: the store's answer, judged by the gateway

const target = (size: number, segmentSize: number, root: Buffer): AuditTarget => ({ blobId: '0'.repeat(32), piece: 3, size, segmentSize, root });

/** A shard's records as the encoder writes them (piece i of each segment + its CRC), and its hash-tree root. */
async function shardRecords(size: number, segmentSize: number, piece: number): Promise<{ records: Buffer[]; root: Buffer }> {
  const engine = referenceEngine();
  const encoder = engine.newSegmentEncoder(randomBytes(32));
  const records: Buffer[] = [];
  const hashes: Buffer[] = [];
  for (let s = 0; s < segmentCount(size, segmentSize); s++) {
    const seg = await encoder.encode(randomBytes(Math.min(segmentSize, size - s * segmentSize)), s);
    const [bytes, crc] = pieceRecord(seg, piece) as [Buffer, Buffer];
    records.push(Buffer.concat([bytes, crc]));
    hashes.push(createHash('sha256').update(bytes).digest());
  }
  return { records, root: merkleRoot(hashes) };
}

describe('audit answers', () => {
  let store: ShardStore;
  beforeAll(async () => {
    store = await ShardStore.open({ dir: join(dir, 'answers') });
  });
  afterAll(async () => {
    await store.close();
  });

  it("a store's honest answer passes the gateway's check; a lying store's does not", async () => {
    const shape = fc.record({ segmentSize: fc.constantFrom(4096, 8192), size: fc.integer({ min: 1, max: 40_000 }), records: fc.integer({ min: 1, max: 4 }), lie: fc.boolean() });
    await check(fc.asyncProperty(shape, fc.nat(), async ({ segmentSize, size, records, lie }, seed) => {
      const { records: recs, root } = await shardRecords(size, segmentSize, 3);
      const shardId = `${randomBytes(16).toString('hex')}.3`;
      for (const [seg, data] of recs.entries()) await store.appendRecord(shardId, seg, [data]);
      await store.sync();
      try {
        const count = segmentCount(size, segmentSize);
        const indices = [...new Set(Array.from({ length: records }, (_, k) => (seed + k * 7) % count))].sort((a, b) => a - b);
        const recordSize = recordRange(size, segmentSize, 0).length;
        const answer = await answerAuditChallenge(store, { shardId, nonce: 'ab', recordSize, indices }, lie);
        const wire = JSON.parse(JSON.stringify(answer)) as AuditChallengeResponse;
        const verdict = valueOf(outcome(() => checkAnswer('s', target(size, segmentSize, root), indices, wire, count), []));
        expect(verdict.outcome).toBe(lie ? 'wrong' : 'pass');
      } finally {
        await store.delete(shardId);
      }
    }), 0.25);
  });

  /** Answers shaped like the real one, with any part wrong. */
  const recordish = fc.record({ index: fc.oneof(fc.nat(10), anyJsonValue), data: fc.oneof(fc.base64String({ maxLength: 80 }), anyJsonValue), proof: fc.oneof(fc.array(fc.oneof(hex(70), anyJsonValue), { maxLength: 8 }), anyJsonValue) }, { requiredKeys: [] });

  it('the gateway judges any answer whose records are objects without throwing', () => {
    const body = fc.record({ leafCount: fc.oneof(fc.nat(10), anyJsonValue), records: fc.array(recordish, { maxLength: 4 }) }, { requiredKeys: [] });
    check(fc.property(body, fc.uniqueArray(fc.nat(9), { minLength: 1, maxLength: 4 }), (b, indices) => {
      valueOf(outcome(() => checkAnswer('s', target(40_000, 4096, Buffer.alloc(32)), indices.sort((x, y) => x - y), b as unknown as AuditChallengeResponse, 10), []));
    }));
  });

  // A record that is not an object (`null`, a number) was once read as `rec.index`: TypeError.
  it('the gateway judges any JSON answer without throwing', () => {
    // Right in shape down to the records (count and length agree), any JSON in their place.
    const notObject = fc.constantFrom(null, 0, 'x', true, null);
    const indices = fc.uniqueArray(fc.nat(9), { minLength: 1, maxLength: 4 }).map((xs) => xs.sort((x, y) => x - y));
    const answer = indices.chain((ix) => fc.tuple(fc.constant(ix), fc.oneof(
      { weight: 3, arbitrary: fc.tuple(...ix.map(() => fc.oneof({ weight: 2, arbitrary: notObject }, { weight: 1, arbitrary: recordish }, { weight: 1, arbitrary: anyJsonValue }))).map((records) => ({ leafCount: 10, records })) },
      { weight: 1, arbitrary: anyJsonValue },
    )));
    check(fc.property(answer, ([ix, b]) => {
      valueOf(outcome(() => checkAnswer('s', target(40_000, 4096, Buffer.alloc(32)), ix, b as unknown as AuditChallengeResponse, 10), []));
    }));
  });

  // Shard files of releases before volumes keep their leaves in a sidecar file.
  it('a damaged leaves sidecar is never trusted: the leaves are those of the bytes on disk', async () => {
    await check(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 5, max: 700 }), fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (bytes, recordSize, junk, keepHeader) => {
      const path = join(dir, `sidecar-${randomBytes(4).toString('hex')}`);
      await writeFile(path, bytes);
      const fh = await open(path, 'r');
      try {
        const piece = { fh, size: bytes.length };
        const truth = await loadLeaves(path, piece, recordSize);
        const written = await open(sidecarPath(path), 'r+').then(async (s) => {
          const head = keepHeader ? Buffer.from((await s.readFile()).subarray(0, 32)) : Buffer.alloc(0);
          await s.truncate(0);
          await s.write(Buffer.concat([head, Buffer.from(junk)]), 0, undefined, 0);
          await s.close();
          return true;
        }).catch(() => false);
        if (written) {
          const again = valueOf(await outcomeAsync(() => loadLeaves(path, piece, recordSize), []));
          expect(again.map((l) => l.toString('hex'))).toEqual(truth.map((l) => l.toString('hex')));
        }
      } finally {
        await fh.close();
        await rm(path, { force: true });
        await rm(sidecarPath(path), { force: true });
      }
    }), 0.25);
  });
});

// ---------------------------------------------------------------------------------------
// A store process, fed random requests

let server: ShardStoreServer;
const internalErrors: string[] = [];
/** Client identities: the gateway's key, one the store trusts for RECOVERY_OPS only, one it does not know, none. */
const identities: Record<'gateway' | 'recovery' | 'stranger', TlsIdentity> = {} as Record<'gateway' | 'recovery' | 'stranger', TlsIdentity>;
type Who = keyof typeof identities | 'none';
const whoArb = fc.constantFrom<Who>('gateway', 'recovery', 'stranger', 'none');

/** A TLS connection to the store as `who`, asking for `alpn`. */
async function connectAs(who: Who, alpn: string): Promise<TLSSocket> {
  const id = who === 'none' ? undefined : identities[who];
  const sock = tlsConnect({ port: server.port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: [alpn], ...(id && { key: id.key, cert: id.cert }) });
  sock.on('error', () => undefined);
  await once(sock, 'secureConnect');
  return sock;
}

/**
 * Send exact bytes, return everything the server sends until it closes (the requests say
 * `Connection: close`). The socket is not half-closed: Node's servers drop answers still being
 * prepared when the client's side ends, and HTTP clients do not end it.
 */
async function rawRequest(who: Who, bytes: Buffer): Promise<Buffer> {
  const sock = await connectAs(who, 'http/1.1');
  sock.write(bytes);
  const chunks: Buffer[] = [];
  for await (const c of sock) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The first response in `raw`: status, lower-case headers, body (by Content-Length). */
function firstResponse(raw: Buffer): { status: number; headers: Map<string, string>; body: Buffer; bare: boolean } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1]);
  const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  const length = Number(headers.get('content-length') ?? 0);
  // Node's own answer to a request its HTTP parser refused: no handler ran.
  const bare = head[0] === 'HTTP/1.1 400 Bad Request' && !headers.has('content-length');
  return { status, headers, body: raw.subarray(end + 4, end + 4 + length), bare };
}

/** Percent-encode every byte that is not unreserved (lone surrogates become U+FFFD first). */
const pctEncode = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');

describe('a shard-store server on random requests', () => {
  beforeAll(async () => {
    const recoveryKey = newIdentityKey();
    identities.gateway = key.tls;
    identities.recovery = identityFromKey(recoveryKey, 'recovery');
    identities.stranger = identityFromKey(newIdentityKey(), 'stranger');
    server = await startShardStoreServer({
      id: STORE, dir: join(dir, 'store'), log: (l) => internalErrors.push(l),
      trustedKeys: [...await loadTrustedKeys([key.publicKeyFile]), trustedKey(recoveryKey, 'recovery', new Set(RECOVERY_OPS))],
    });
  });
  afterAll(async () => {
    await server.close(200);
  });

  it('answers every HTTP request with a status below 500 (507 aside) and a JSON error body, and keeps serving', async () => {
    const req = fc.record({
      who: whoArb,
      method: fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST', 'OPTIONS'),
      path: fc.oneof(shardIdArb.map((id) => `/pieces/${id}`), fc.constantFrom('/pieces', '/status', '/challenge', '/trusted-keys', '/nope', '/pieces/zz'), hostileString(3).map((x) => `/${pctEncode(x)}`)),
      range: fc.option(fc.oneof(fc.constantFrom('bytes=0-1', 'bytes=-1', 'bytes=5-2', 'bytes=x'), hostileString(2)), { nil: undefined }),
      body: fc.oneof(fc.constant(''), fc.constantFrom('{"indices":[0],"recordSize":9,"nonce":"ab","shardId":"' + '0'.repeat(32) + '.1"}', '{"jwk":{}}',
        '{"jwk":{"kty":"OKP","crv":"Ed25519","x":"abc"}}', 'null', '[', '{"indices":null}'),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 50 })),
      contentLength: fc.constantFrom('right', 'none', 'short'),
    });
    await check(fc.asyncProperty(req, async (r) => {
      const body = Buffer.from(r.body);
      const head = [`${r.method} ${r.path} HTTP/1.1`, 'Host: x', 'Connection: close',
        ...(r.range !== undefined ? [`Range: ${r.range.replace(/[\r\n]/g, '')}`] : []),
        ...(r.contentLength === 'right' ? [`Content-Length: ${body.length}`] : r.contentLength === 'short' && body.length > 0 ? [`Content-Length: ${body.length - 1}`] : [])];
      const bytes = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), r.contentLength === 'none' ? Buffer.alloc(0) : body]);
      const answer = valueOf(await outcomeAsync(() => rawRequest(r.who, bytes), [], 2_000, HANG_MS));
      const res = firstResponse(answer);
      const shown = answer.toString('latin1').slice(0, 300);
      expect(res.status, shown).toBeGreaterThanOrEqual(200);
      expect(res.status === 507 || res.status < 500, shown).toBe(true);
      if (res.status >= 400 && r.method !== 'HEAD' && !res.bare) expect(JSON.parse(res.body.toString('utf8')), shown).toHaveProperty('error');
      // Routes are parsed before the key is looked at: a stranger may learn a path is wrong, nothing more.
      if (r.who === 'stranger' || r.who === 'none') expect(res.status, shown).toBeGreaterThanOrEqual(400);
    }), 0.5);
    expect(internalErrors).toEqual([]);
    const status = await rawRequest('gateway', Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(status.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
  });

  it('answers every piece-protocol frame once, by its id, never with an internal error, and keeps serving', async () => {
    // Shards of a few blobs, so that writes, reads and deletes meet.
    const blobs = [randomBytes(16), randomBytes(16)];
    const frame = fc.record({
      op: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(BatchOp.Put, BatchOp.Get, BatchOp.Delete, BatchOp.Head) }, { weight: 1, arbitrary: fc.nat(255) }),
      flags: fc.constantFrom(0, 1, 255), blob: fc.nat(blobs.length - 1), piece: fc.oneof(fc.nat(3), fc.nat(255)), seg: fc.oneof(fc.nat(3), fc.nat(0xffffffff)),
      offset: fc.oneof(fc.nat(3000), fc.nat(Number.MAX_SAFE_INTEGER)), length: fc.oneof(fc.nat(600), fc.nat(0xffffffff)), data: fc.uint8Array({ maxLength: 600 }),
    });
    await check(fc.asyncProperty(whoArb, fc.array(frame, { minLength: 1, maxLength: 12 }), splits(), async (who, frames, cuts) => {
      const requests = frames.map((f, id) => {
        const data = Buffer.from(f.data);
        const req: BatchRequest = { op: f.op, flags: f.flags, id, blob: blobs[f.blob]!, piece: f.piece, seg: f.seg, offset: f.offset, length: f.op === (BatchOp.Put as number) ? data.length : f.length };
        return Buffer.concat([encodeRequestHeader(req), f.op === (BatchOp.Put as number) ? data : Buffer.alloc(0)]);
      });
      const results = valueOf(await outcomeAsync(async () => {
        const sock = await connectAs(who, PIECE_PROTOCOL);
        try {
          const parser = new FrameParser(RESULT_HEADER_BYTES, resultPayload, 1024 * 1024);
          const got: Array<{ id: number; status: number; message: string }> = [];
          const done = new Promise<void>((resolve, reject) => {
            sock.on('data', (chunk: Buffer) => {
              for (const f of parser.push(chunk)) got.push({ id: f.header.readUInt32LE(0), status: f.header.readUInt8(4), message: Buffer.concat(f.payload).toString('utf8') });
              if (got.length >= frames.length) resolve();
            });
            sock.once('close', () => reject(new Error(`the store closed the connection after ${got.length} of ${frames.length} answers`)));
          });
          for (const chunk of splitBuffer(Buffer.concat(requests), cuts)) sock.write(chunk);
          await done;
          return got;
        } finally {
          sock.destroy();
        }
      }, [], 2_000, HANG_MS));
      expect(results.map((r) => r.id).sort((a, b) => a - b)).toEqual(frames.map((_, id) => id));
      for (const r of results) {
        const shown = `${BatchStatus[r.status] ?? r.status} ${r.message} for ${JSON.stringify({ ...frames[r.id], data: frames[r.id]!.data.length })}`;
        expect(r.status, shown).not.toBe(BatchStatus.Error);
        expect(Object.values(BatchStatus), shown).toContain(r.status);
        if (who === 'stranger' || who === 'none') expect([BatchStatus.Unauthenticated, BatchStatus.BadRequest], shown).toContain(r.status);
        if (who === 'recovery' && [BatchOp.Put, BatchOp.Delete].includes(frames[r.id]!.op)) expect([BatchStatus.Forbidden, BatchStatus.BadRequest], shown).toContain(r.status);
      }
    }), 0.5);
    expect(internalErrors).toEqual([]);
    const status = await rawRequest('gateway', Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(status.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
  });
});
