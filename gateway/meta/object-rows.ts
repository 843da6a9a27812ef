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
  const build = compileRow(names);
  const raw = stmt.raw(true);
  return (...params) => (raw.all(...params) as unknown[][]).map(build);
}

/**
 * `(a) => ({ [names[0]]: a[0], ... })` as one literal. The names are the columns of our own SQL,
 * and JSON.stringify makes each a string literal; a name that repeats keeps its last value, as
 * better-sqlite3's objects do. Where code generation is switched off
 * (`--disallow-code-generation-from-strings`), the same object is filled in a loop.
 */
function compileRow(names: readonly string[]): (a: unknown[]) => SqlRow {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled once per statement, from column names only
    return new Function('a', `return { ${names.map((n, i) => `${JSON.stringify(n)}: a[${i}]`).join(', ')} };`) as (a: unknown[]) => SqlRow;
  } catch {
    return (a) => {
      const row: SqlRow = {};
      for (let i = 0; i < names.length; i++) row[names[i]!] = a[i];
      return row;
    };
  }
}
