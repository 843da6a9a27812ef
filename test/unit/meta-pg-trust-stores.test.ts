import { PgAuditStore } from '../../gateway/meta/pg/audit-store.js';
import { PgNodePins } from '../../gateway/meta/pg/node-pins.js';
import { PgNodeStore } from '../../gateway/meta/pg/nodes.js';
import { PgRepairStore } from '../../gateway/meta/pg/repair.js';
import { PgReportStore, ReportTailMovedError } from '../../gateway/meta/pg/reports.js';
import type { StoredReport } from '../../gateway/meta/reports.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { fixture, usePgDatabase } from './pg-fixture.js';

const skip = postgresSkipReason();
const P16 = (prefix: string): string[] => Array.from({ length: 16 }, (_, i) => `${prefix}${i}`);

describe.skipIf(skip)(`PostgreSQL trust-layer stores${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = usePgDatabase();

  describe('nodes', () => {
    it('joins offline, keeps the state of a node that moves, records states and /status answers', async () => {
      const db = await pg.db();
      const nodes = new PgNodeStore(db);
      await nodes.join('ss2', 'https://b:1', 'zone-2', 1000);
      await nodes.join('ss1', 'https://a:1', 'zone-1', 1000);
      expect(await nodes.get('ss1')).toMatchObject({ state: 'offline', stateSince: 1000, addedAt: 1000, zone: 'zone-1', capacity: null, score: 1 });
      expect((await nodes.get('ss1'))!.stateReason).toMatch(/first \/status/);
      await nodes.setState('ss1', 'active', 'answered', 2000);
      await nodes.join('ss1', 'https://a2:1', 'zone-9', 3000);
      expect(await nodes.get('ss1')).toMatchObject({ url: 'https://a2:1', state: 'active', stateSince: 2000, zone: 'zone-1' });
      await nodes.recordSeen('ss1', { zone: 'zone-3', capacity: 1e12, freeBytes: 5e11 }, 4000);
      expect(await nodes.get('ss1')).toMatchObject({ zone: 'zone-3', capacity: 1e12, freeBytes: 5e11, lastSeen: 4000 });
      expect((await nodes.list()).map((n) => n.id)).toEqual(['ss1', 'ss2']);
      expect(await nodes.get('nope')).toBeUndefined();
    });

    it('counts pieces of in-flight blobs per node, and knows whether a node still holds any', async () => {
      const db = await pg.db();
      const nodes = new PgNodeStore(db);
      await fixture.blob(db, 'w1', ['a', 'b', 'a'], 'writing');
      await fixture.blob(db, 'w2', ['b'], 'writing');
      await fixture.blob(db, 'l1', ['c'], 'live');
      await fixture.blob(db, 'g1', ['d'], 'garbage');
      expect(await nodes.writingPiecesHeld()).toEqual(new Map([['a', 2], ['b', 2]]));
      expect(await nodes.holdsPieces('a')).toBe(true);
      expect(await nodes.holdsPieces('c')).toBe(true);
      expect(await nodes.holdsPieces('d')).toBe(false);
      expect(await nodes.holdsPieces('zz')).toBe(false);
    });
  });

  describe('key pins', () => {
    it('loads pins, writes a learned one through, and forgets one reset', async () => {
      const db = await pg.db();
      await fixture.node(db, 'ss1');
      await fixture.node(db, 'ss2');
      await db.write((sql) => sql.run(`UPDATE nodes SET tls_pin = 'sha256:given' WHERE id = 'ss2'`));
      const lines: string[] = [];
      const pins = await PgNodePins.open(db, (l) => lines.push(l));
      expect(pins.pinOf('ss2')).toBe('sha256:given');
      expect(pins.pinOf('ss1')).toBeUndefined();
      pins.learn('ss1', 'sha256:first');
      expect(pins.pinOf('ss1')).toBe('sha256:first'); // at once, for the handshakes that follow
      pins.learn('ss1', 'sha256:second'); // a pin is never replaced by learning
      await vi.waitFor(async () => expect((await db.one(`SELECT tls_pin FROM nodes WHERE id = 'ss1'`))!.tls_pin).toBe('sha256:first'));
      expect(lines.join('\n')).toMatch(/ss1: pinned its key sha256:first/);
      await pins.set('ss2', null);
      expect(pins.pinOf('ss2')).toBeUndefined();
      await pins.set('ss2', 'sha256:new');
      expect(pins.pinOf('ss2')).toBe('sha256:new');
      // A node the registry does not know is not pinned, as on SQLite.
      pins.learn('ghost', 'sha256:g');
      await vi.waitFor(() => expect(pins.pinOf('ghost')).toBeUndefined());
    });

    it('keeps the key another gateway pinned first, and says so', async () => {
      const dbA = await pg.db();
      const dbB = await pg.db();
      await fixture.node(dbA, 'ss1');
      const linesA: string[] = [];
      const a = await PgNodePins.open(dbA, (l) => linesA.push(l));
      const b = await PgNodePins.open(dbB, () => undefined);
      b.learn('ss1', 'sha256:real');
      await vi.waitFor(async () => expect((await dbA.one(`SELECT tls_pin FROM nodes WHERE id = 'ss1'`))!.tls_pin).toBe('sha256:real'));
      // Gateway A has not refreshed yet, and meets a different key at the store's address.
      a.learn('ss1', 'sha256:stranger');
      await vi.waitFor(() => expect(a.pinOf('ss1')).toBe('sha256:real'));
      expect(linesA.join('\n')).toMatch(/presented key sha256:stranger, but another gateway pinned sha256:real/);
      // A reset through B reaches A on its next refresh.
      await b.set('ss1', null);
      await a.refresh();
      expect(a.pinOf('ss1')).toBeUndefined();
    });
  });

  describe('repair', () => {
    it('walks live blobs in id order from a cursor, and finds the pieces on a node', async () => {
      const db = await pg.db();
      const repairs = new PgRepairStore(db);
      await fixture.blob(db, 'b2', ['n1', 'n2', 'n1']);
      await fixture.blob(db, 'B1', ['n2']);
      await fixture.blob(db, 'a3', ['n1']);
      await fixture.blob(db, 'w', ['n1'], 'writing');
      expect((await repairs.liveBlobsAfter('', 10)).map((b) => b.id)).toEqual(['B1', 'a3', 'b2']); // bytewise: 'B' < 'a'
      expect(await repairs.liveBlobsAfter('a3', 1)).toEqual([{ id: 'b2', size: 100, placement: ['n1', 'n2', 'n1'] }]);
      expect(await repairs.countLive()).toBe(3);
      expect(await repairs.livePiecesOn('n1', '', 10)).toEqual([
        { blobId: 'a3', size: 100, segmentSize: 65536, piece: 0 },
        { blobId: 'b2', size: 100, segmentSize: 65536, piece: 0 },
        { blobId: 'b2', size: 100, segmentSize: 65536, piece: 2 },
      ]);
      expect((await repairs.livePiecesOn('n1', 'a3', 10)).map((p) => p.piece)).toEqual([0, 2]);
    });

    it('queues, ranges and drops stale queue entries', async () => {
      const db = await pg.db();
      const repairs = new PgRepairStore(db);
      await fixture.blob(db, 'b1', P16('n'));
      await fixture.blob(db, 'b2', P16('n'), 'writing');
      await db.write(async (sql) => {
        for (const [id, piece] of [['b1', 3], ['b1', 5], ['b2', 1], ['gone', 0]] as const) {
          await sql.run(`INSERT INTO repair_queue(blob_id, piece, reason, enqueued_at) VALUES ($1, $2, 'test', 1)`, [id, piece]);
        }
      });
      expect(await repairs.queueLength()).toBe(4);
      expect(await repairs.queuedPieces({ from: 'b1', to: 'b1' })).toEqual(new Map([['b1', new Set([3, 5])]]));
      expect(await repairs.dropStaleQueue()).toBe(1);
      expect([...(await repairs.queuedPieces()).keys()].sort()).toEqual(['b1', 'b2']);
    });

    it('commits moves whose piece is still where the repair found it; the rest become orphans', async () => {
      const db = await pg.db();
      const repairs = new PgRepairStore(db);
      await fixture.blob(db, 'b1', P16('n'));
      await fixture.blob(db, 'b10', P16('n'));
      await db.write((sql) => sql.run(`INSERT INTO repair_queue(blob_id, piece, reason, enqueued_at) VALUES ('b1', 2, 'missing', 1)`));
      const job = await repairs.createJob('admin', 16, 1000);
      const applied = await repairs.commitMoves('b1', [
        { piece: 2, from: 'n2', to: 'x' },
        { piece: 3, from: 'elsewhere', to: 'y' }, // changed hands meanwhile
      ], job.id, { bytesRead: 10 }, 5000, 1000);
      expect(applied).toEqual([{ piece: 2, from: 'n2', to: 'x' }]);
      expect((await repairs.liveBlobsAfter('', 1))[0]!.placement[2]).toBe('x');
      expect(await repairs.queueLength()).toBe(0);
      expect(await repairs.dueOrphans(1000, 10)).toEqual([{ nodeId: 'y', shardId: 'b1.3', attempts: 0 }]);
      expect((await repairs.dueOrphans(6000, 10)).map((o) => o.nodeId).sort()).toEqual(['n2', 'y']);
      expect(await repairs.getJob(job.id)).toMatchObject({ piecesRebuilt: 1, blobsRepaired: 1, bytesRead: 10 });
      // A blob that is no longer live takes no move.
      await db.write((sql) => sql.run(`UPDATE blobs SET state = 'garbage' WHERE id = 'b10'`));
      expect(await repairs.commitMoves('b10', [{ piece: 0, from: 'n0', to: 'z' }], null, {}, 0, 1000)).toEqual([]);
      // The orphans of b1 only, not those of b10 (a longer id with the same start).
      expect(await repairs.orphanNodesOf('b1')).toEqual(new Set(['n2', 'y']));
      expect(await repairs.orphanNodesOf('b10')).toEqual(new Set(['z']));
      await repairs.orphanRetry('y', 'b1.3', 9000);
      expect(await repairs.dueOrphans(8000, 10)).toEqual([{ nodeId: 'z', shardId: 'b10.0', attempts: 0 }, { nodeId: 'n2', shardId: 'b1.2', attempts: 0 }]);
      expect((await repairs.dueOrphans(9000, 10)).find((o) => o.nodeId === 'y')).toEqual({ nodeId: 'y', shardId: 'b1.3', attempts: 1 });
      await repairs.orphanDeleted('y', 'b1.3');
      expect(await repairs.orphanNodesOf('b1')).toEqual(new Set(['n2']));
    });

    it('commits a piece rebuilt in place (from = to): dequeued, and its holder\'s copy is no orphan', async () => {
      const db = await pg.db();
      const repairs = new PgRepairStore(db);
      await fixture.blob(db, 'b1', P16('n'));
      await db.write((sql) => sql.run(`INSERT INTO repair_queue(blob_id, piece, reason, enqueued_at) VALUES ('b1', 4, 'missed write', 1)`));
      expect(await repairs.commitMoves('b1', [{ piece: 4, from: 'n4', to: 'n4' }], null, {}, 0, 1000)).toEqual([{ piece: 4, from: 'n4', to: 'n4' }]);
      expect((await repairs.liveBlobsAfter('', 1))[0]!.placement[4]).toBe('n4');
      expect(await repairs.queueLength()).toBe(0);
      expect(await repairs.dueOrphans(1_000_000, 10)).toEqual([]);
    });

    it('keeps a job through its passes, raises and finishes it', async () => {
      const db = await pg.db();
      const repairs = new PgRepairStore(db);
      expect(await repairs.runningJob()).toBeUndefined();
      const job = await repairs.createJob('schedule', 12, 1000);
      expect(job).toMatchObject({ trigger: 'schedule', threshold: 12, state: 'running', pass: 1, cursor: '', startedAt: 1000, finishedAt: null });
      await repairs.startPass(job.id, 1, 500, 1100);
      await repairs.bump(job.id, { blobsChecked: 10, blobsFailed: 1, activeMs: 7 }, 1200);
      await repairs.setCursor(job.id, 'abc', 1300);
      expect(await repairs.runningJob()).toMatchObject({ id: job.id, blobsTotal: 500, blobsChecked: 10, blobsFailed: 1, activeMs: 7, cursor: 'abc', updatedAt: 1300 });
      await repairs.raiseJob(job.id, 16, 'admin', 1400);
      expect(await repairs.getJob(job.id)).toMatchObject({ threshold: 16, trigger: 'admin', cursor: '', blobsChecked: 0 });
      await repairs.startPass(job.id, 2, 400, 1500);
      expect(await repairs.getJob(job.id)).toMatchObject({ pass: 2, blobsTotal: 400, blobsChecked: 0, blobsFailed: 0 });
      await repairs.finishJob(job.id, 'incomplete', '3 blobs short', 2000);
      expect(await repairs.runningJob()).toBeUndefined();
      expect(await repairs.lastJob()).toMatchObject({ id: job.id, state: 'incomplete', message: '3 blobs short', finishedAt: 2000 });
      const next = await repairs.createJob('drain', 16, 3000);
      expect(next.id).toBeGreaterThan(job.id);
      expect((await repairs.lastJob())!.id).toBe(next.id);
    });

    it('two gateways creating a job at once get one running job', async () => {
      const gateways = await Promise.all([1, 2, 3].map(async () => new PgRepairStore(await pg.db())));
      const jobs = await Promise.all(gateways.flatMap((g) => [g.createJob('schedule', 12), g.createJob('admin', 16)]));
      expect(new Set(jobs.map((j) => j.id)).size).toBe(1);
      const db = await pg.db();
      expect((await db.one(`SELECT COUNT(*) AS n FROM repair_jobs`))!.n).toBe(1);
    });
  });

  describe('audits', () => {
    const roots = (seed: number): Buffer[] => Array.from({ length: 16 }, (_, i) => Buffer.alloc(32, seed * 16 + i));

    it('keeps roots, samples live pieces on a node with their root, and walks live blobs', async () => {
      const db = await pg.db();
      const audit = new PgAuditStore(db);
      await fixture.blob(db, '10', P16('n'));
      await fixture.blob(db, '20', [...P16('m').slice(0, 15), 'n3']);
      await fixture.blob(db, '30', P16('n'), 'garbage');
      await fixture.blob(db, '40', P16('n')); // live, but without roots: not audited
      await audit.setRoots('10', roots(1));
      await audit.setRoots('20', roots(0));
      await audit.setRoots('20', roots(2)); // replaced
      await audit.setRoots('30', roots(3));
      expect((await audit.getRoots('20'))![15]).toEqual(Buffer.alloc(32, 2 * 16 + 15));
      expect(await audit.getRoots('40')).toBeUndefined();
      const sample = await audit.sampleOn('n3', 10);
      expect(sample.map((t) => [t.blobId, t.piece]).sort()).toEqual([['10', 3], ['20', 15]]);
      for (const t of sample) expect(t.root).toEqual((await audit.getRoots(t.blobId))![t.piece]);
      expect(await audit.sampleOn('n3', 1)).toHaveLength(1);
      const walk = await audit.liveAfter('', 10);
      expect(walk.map((b) => b.id)).toEqual(['10', '20']);
      expect(walk[1]).toMatchObject({ size: 100, segmentSize: 65536, placement: [...P16('m').slice(0, 15), 'n3'] });
      expect(walk[1]!.roots).toEqual(roots(2));
      expect((await audit.liveAfter('10', 10)).map((b) => b.id)).toEqual(['20']);
      await db.write((sql) => sql.run(`DELETE FROM blobs WHERE id = '30'`));
      expect(await audit.dropStaleRoots()).toBe(1);
    });

    it('records outcomes, counts them in a window, and finds the last one and the last failure', async () => {
      const db = await pg.db();
      const audit = new PgAuditStore(db);
      await audit.record('n1', 's1', 'pass', null, 100);
      await audit.record('n1', 's2', 'wrong', 'bad proof', 200);
      await audit.record('n1', 's3', 'pass', null, 300);
      await audit.record('n2', 's4', 'missing', null, 150);
      expect(await audit.counts('n1', 100, 300)).toEqual({ pass: 1, wrong: 1, missing: 0, timeout: 0, error: 0 });
      expect(await audit.last('n1')).toEqual({ at: 300, outcome: 'pass', shardId: 's3', detail: null });
      expect(await audit.last('n1', true)).toEqual({ at: 200, outcome: 'wrong', shardId: 's2', detail: 'bad proof' });
      expect(await audit.last('n3')).toBeUndefined();
      await fixture.node(db, 'n1');
      await audit.setScore('n1', 0.25);
      expect((await db.one(`SELECT score FROM nodes WHERE id = 'n1'`))!.score).toBe(0.25);
      expect(await audit.getState('scrub.cursor')).toBeUndefined();
      await audit.setState('scrub.cursor', 'abc');
      await audit.setState('scrub.cursor', 'def');
      expect(await audit.getState('scrub.cursor')).toBe('def');
    });
  });

  describe('report log', () => {
    const entry = (seq: number, from = 'a'): StoredReport => ({ seq, node: 'n1', periodStart: seq * 10, periodEnd: seq * 10 + 10, jws: `${from}-jws-${seq}`, hash: `${from}-h${seq}` });

    it('appends after its tail, pages and counts, and refuses an append whose tail moved', async () => {
      const db = await pg.db();
      const reports = new PgReportStore(db);
      expect(await reports.tail()).toBeUndefined();
      await reports.append(0, [entry(1), entry(2)]);
      expect(await reports.tail()).toEqual({ seq: 2, hash: 'a-h2' });
      await expect(reports.append(1, [entry(2, 'b')])).rejects.toBeInstanceOf(ReportTailMovedError);
      await expect(reports.append(0, [entry(1, 'b')])).rejects.toThrow('report log changed while signing');
      await reports.append(2, [entry(3)]);
      expect(await reports.page(1, 10)).toEqual([{ seq: 2, jws: 'a-jws-2' }, { seq: 3, jws: 'a-jws-3' }]);
      expect(await reports.page(0, 1)).toEqual([{ seq: 1, jws: 'a-jws-1' }]);
      expect(await reports.size()).toBe(3);
    });

    it('two gateways appending after the same tail at once: one wins, the chain does not fork', async () => {
      const stores = await Promise.all(['a', 'b', 'c', 'd'].map(async () => new PgReportStore(await pg.db())));
      await stores[0]!.append(0, [entry(1)]);
      const results = await Promise.allSettled(stores.map((s, i) => s.append(1, [entry(2, `g${i}`), entry(3, `g${i}`)])));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ReportTailMovedError);
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      expect(await stores[1]!.page(0, 10)).toEqual([
        { seq: 1, jws: 'a-jws-1' }, { seq: 2, jws: `g${winner}-jws-2` }, { seq: 3, jws: `g${winner}-jws-3` },
      ]);
    });
  });
});
