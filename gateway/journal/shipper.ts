import type { Statement } from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { N } from '../../codec/erasure.js';
import type { Db } from '../meta/db.js';
import type { PipelineContext } from '../pipeline/context.js';
import { FanOut } from '../pipeline/fan-out.js';
import { encodeEntry, journalDataKey, newJournalBlobId, type JournalEntry, type JournalOp } from './entry.js';

/** Rows per entry; a larger batch (a repair moving many blobs) is cut into several entries. */
const MAX_OPS_PER_ENTRY = 2_000;
/** Changes made by background work (GC, repair, lifecycle) are shipped at least this often. */
const BACKGROUND_FLUSH_MS = 1_000;
/** Attempts at one entry within one flush before the flush fails (the next flush tries again). */
const ATTEMPTS = 2;

const STATE_EPOCH = 'journal.epoch';
const STATE_NEXT = 'journal.next';

export interface JournalPosition {
  epoch: string;
  /** The next entry number: a snapshot taken now is complete with entries from here on. */
  next: number;
}

/**
 * Ships the metadata to the shard-stores as it changes, so that losing the gateway's disk
 * loses nothing that was acknowledged: triggers note every changed row (migration 13), and
 * `flush()` writes the changed rows as one journal entry, erasure-coded like an object onto
 * 16 stores with the write quorum, before the write that changed them is answered.
 * Concurrent requests share an entry (group commit). Recovery replays the entries that
 * follow the last snapshot (replay.ts).
 */
export class JournalShipper {
  private readonly s: Record<string, Statement>;
  private readonly rowStatements = new Map<string, Statement>();
  private epoch: string;
  private next: number;
  private shippedUpTo = 0;
  private shipping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Entries written since start (metrics, tests). */
  entries = 0;

  constructor(private readonly ctx: PipelineContext, private readonly db: Db, private readonly log: (line: string) => void = console.log) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      upTo: p(`SELECT seq FROM sqlite_sequence WHERE name = 'journal_changes'`).pluck(),
      changed: p('SELECT DISTINCT tbl, row FROM journal_changes WHERE seq <= ? ORDER BY tbl, row'),
      shipped: p('DELETE FROM journal_changes WHERE seq <= ?'),
      getState: p('SELECT value FROM trust_state WHERE key = ?').pluck(),
      setState: p('INSERT INTO trust_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      record: p('INSERT OR REPLACE INTO journal_entries(epoch, seq, blob_id, size, placement, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    };
    const epoch = this.s.getState!.get(STATE_EPOCH) as string | undefined;
    if (epoch === undefined) {
      this.epoch = '';
      this.next = 0;
      this.newEpoch();
    } else {
      this.epoch = epoch;
      this.next = Number(this.s.getState!.get(STATE_NEXT) ?? 0);
    }
  }

  /** Where the journal stands: a snapshot records it to know which entries follow it. */
  position(): JournalPosition {
    return { epoch: this.epoch, next: this.next };
  }

  /**
   * Start a new epoch: on a new gateway, and after a recovery (entries of the old epoch past
   * the last one replayed may exist half-written; new ones must never be read as their sequel).
   */
  newEpoch(): void {
    this.epoch = randomBytes(8).toString('hex');
    this.next = 0;
    this.db.transaction(() => {
      this.s.setState!.run(STATE_EPOCH, this.epoch);
      this.s.setState!.run(STATE_NEXT, '0');
    })();
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.flush().catch((err: unknown) => this.log(`journal: ${(err as Error).message}; will retry`));
    }, BACKGROUND_FLUSH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  /** Resolves once every change committed before the call is in a durable journal entry. */
  async flush(): Promise<void> {
    const target = this.pending();
    while (this.shippedUpTo < target) {
      this.shipping ??= this.ship().finally(() => (this.shipping = undefined));
      await this.shipping;
    }
  }

  private pending(): number {
    return Number(this.s.upTo!.get() ?? 0);
  }

  private async ship(): Promise<void> {
    const upTo = this.pending();
    const changed = this.s.changed!.all(upTo) as Array<{ tbl: string; row: number }>;
    const ops: JournalOp[] = changed.map(({ tbl, row }) => {
      const r = this.rowOf(tbl).get(row) as Record<string, unknown> | undefined;
      if (!r) return [tbl, row, null];
      const { __rowid: _rowid, ...cols } = r;
      return [tbl, row, cols];
    });
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_ENTRY) {
      await this.write({ v: 1, epoch: this.epoch, seq: this.next, at: Date.now(), ops: ops.slice(i, i + MAX_OPS_PER_ENTRY) });
    }
    this.s.shipped!.run(upTo);
    this.shippedUpTo = Math.max(this.shippedUpTo, upTo);
  }

  private rowOf(table: string): Statement {
    let st = this.rowStatements.get(table);
    if (!st) {
      // Table names come from our own triggers (migration 13), never from a request.
      if (!/^[a-z_]+$/.test(table)) throw new Error(`journal: bad table name ${table}`);
      st = this.db.prepare(`SELECT rowid AS __rowid, * FROM ${table} WHERE rowid = ?`);
      this.rowStatements.set(table, st);
    }
    return st;
  }

  private async write(entry: JournalEntry): Promise<void> {
    const plain = encodeEntry(entry);
    let lastErr: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await this.writeAttempt(entry, plain);
        this.next = entry.seq + 1;
        this.s.setState!.run(STATE_NEXT, String(this.next));
        this.entries++;
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private async writeAttempt(entry: JournalEntry, plain: Buffer): Promise<void> {
    const master = this.ctx.masterKey;
    const blobId = newJournalBlobId(master, entry.epoch, entry.seq);
    const seg = await this.ctx.engine.newSegmentEncoder(journalDataKey(master, blobId)).encode(plain, 0);
    const { nodes: placement, offline } = this.ctx.place();
    // Recorded before the write, so that the pieces of an attempt that fails are cleaned up too.
    this.s.record!.run(entry.epoch, entry.seq, blobId, plain.length, JSON.stringify(placement.slice(0, N)), Date.now());
    const fan = new FanOut(this.ctx, blobId, placement, offline);
    try {
      await fan.send(seg);
      await fan.end();
    } catch (err) {
      fan.abort(err as Error);
      throw err;
    }
  }
}
