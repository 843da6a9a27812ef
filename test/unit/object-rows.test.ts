import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { objectRows } from '../../gateway/meta/object-rows.js';

describe('objectRows', () => {
  it('gives the rows all() gives, from arrays', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, data BLOB, n REAL, missing TEXT);
      CREATE TABLE u(t_id INTEGER, name TEXT);
      INSERT INTO t VALUES (1, 'a"b\\\\c', x'00ff', 1.5, NULL), (2, 'é', NULL, -3, 'x');
      INSERT INTO u VALUES (1, 'one'), (1, 'uno');`);
    const sql = 'SELECT t.*, u.name AS "u name", u.name AS name FROM t LEFT JOIN u ON u.t_id = t.id WHERE t.id >= ? ORDER BY t.id, u.name';
    const expected = db.prepare(sql).all(1);
    const rows = objectRows(db.prepare(sql))(1);
    expect(rows).toEqual(expected);
    expect(rows).toHaveLength(3);
    // A column name that repeats keeps its last value, as in better-sqlite3's own objects.
    expect(rows.map((r) => r.name)).toEqual(['one', 'uno', null]);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(expected[0] as object));
  });
});
