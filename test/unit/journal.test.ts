import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pieceSizeFor } from '../../codec/layout.js';
import { decodeEntry, encodeEntry, entryPlainLength, journalTag, newJournalBlobId, type JournalEntry } from '../../gateway/journal/entry.js';
import { openMetaDb } from '../../gateway/meta/db.js';

describe('metadata journal entries', () => {
  it('round-trip rows with binary columns, and fill whole pieces so the piece size gives the length', () => {
    for (const n of [0, 1, 5, 300]) {
      const entry: JournalEntry = {
        v: 1, epoch: 'e1', seq: 42, at: 1_700_000_000_000,
        ops: Array.from({ length: n }, (_, i) => ['blobs', i + 1, { id: `b${i}`, wrapped_key: randomBytes(60), size: i * 1000, placement: '["a"]', garbage_at: null }] as JournalEntry['ops'][number]),
      };
      const plain = encodeEntry(entry);
      expect(entryPlainLength(pieceSizeFor(plain.length))).toBe(plain.length);
      expect(decodeEntry(plain)).toEqual(entry);
    }
  });

  it('are found by a tag only the master key gives, and every write has its own id', () => {
    const master = randomBytes(32);
    const a = newJournalBlobId(master, 'e1', 7);
    const b = newJournalBlobId(master, 'e1', 7);
    expect(a).not.toBe(b);
    expect(a.slice(0, 16)).toBe(journalTag(master, 'e1', 7));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(journalTag(master, 'e1', 8)).not.toBe(journalTag(master, 'e1', 7));
    expect(journalTag(randomBytes(32), 'e1', 7)).not.toBe(journalTag(master, 'e1', 7));
  });
});

describe('metadata journal capture (migration 13)', () => {
  it('notes the rows users change, not node probes', () => {
    const db = openMetaDb(join(mkdtempSync(join(tmpdir(), 'sg-journal-')), 'meta.db'));
    const changes = () => db.prepare('SELECT tbl, row FROM journal_changes ORDER BY seq').all() as Array<{ tbl: string; row: number }>;
    db.prepare(`INSERT INTO buckets(name, owner, region, created_at) VALUES ('b', 'o', 'us-east-1', 1)`).run();
    db.prepare(`INSERT INTO nodes(id, url, zone, added_at) VALUES ('ss00', 'https://x:1', 'z', 1)`).run();
    db.prepare('DELETE FROM journal_changes').run();
    db.prepare(`UPDATE nodes SET free_bytes = 5, last_seen = 9 WHERE id = 'ss00'`).run();
    expect(changes()).toEqual([]);
    db.prepare(`UPDATE nodes SET state = 'offline' WHERE id = 'ss00'`).run();
    db.prepare(`UPDATE buckets SET policy = '{}' WHERE name = 'b'`).run();
    db.prepare(`DELETE FROM buckets WHERE name = 'b'`).run();
    expect(changes().map((c) => c.tbl)).toEqual(['nodes', 'buckets', 'buckets']);
    db.close();
  });
});
