import type { Statement } from 'better-sqlite3';
import type { SqlRow } from './rows.js';

/**
 * A statement's rows as plain objects, as `all()` gives them, built faster. better-sqlite3
 * builds a row object column by column in C++, interning each column name again for every
 * row: for the 33 columns of a GET's version lookup that was a quarter of the lookup's cost.
 * Here SQLite hands over arrays (`raw`), and one object literal of a fixed shape, compiled
 * once from the statement's columns, is filled from each.
 */
export function objectRows(stmt: Statement): (...params: unknown[]) => SqlRow[] {
  const names = stmt.columns().map((c) => c.name);
  // The names are the columns of our own SQL; JSON.stringify makes each a string literal. A
  // name that repeats keeps its last value, as better-sqlite3's objects do.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled once per statement, from column names only
  const build = new Function('a', `return { ${names.map((n, i) => `${JSON.stringify(n)}: a[${i}]`).join(', ')} };`) as (a: unknown[]) => SqlRow;
  const raw = stmt.raw(true);
  return (...params) => (raw.all(...params) as unknown[][]).map(build);
}
