import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

// Every SQL statement lives behind gateway/meta/ (issue 10): the rest of the gateway sees the
// MetaStore interface, never a database handle, so a second backend can take SQLite's place.
// A simple scan of the sources keeps it that way.

const root = join(import.meta.dirname, '..', '..');
const GATEWAY = join(root, 'gateway');
const META = join(GATEWAY, 'meta');

const FORBIDDEN: ReadonlyArray<{ what: string; re: RegExp }> = [
  { what: 'imports better-sqlite3', re: /from\s+['"]better-sqlite3['"]|require\(\s*['"]better-sqlite3['"]\s*\)|import\(\s*['"]better-sqlite3['"]\s*\)/ },
  { what: 'prepares a statement', re: /\.prepare\(/ },
  { what: 'opens a transaction on a handle', re: /\.transaction\(/ },
  { what: 'sets a pragma', re: /\.pragma\(/ },
  { what: 'imports the database handle (meta/db.ts)', re: /from\s+['"][./]*(?:meta\/)?db\.js['"]/ },
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === META ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('metadata boundary', () => {
  test('no file under gateway/ outside gateway/meta/ touches SQLite', () => {
    const files = sources(GATEWAY);
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        for (const f of FORBIDDEN) if (f.re.test(line)) found.push(`${relative(root, file)}:${i + 1} ${f.what}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  test('the scan sees what it forbids', () => {
    const hits = (line: string): string[] => FORBIDDEN.filter((f) => f.re.test(line)).map((f) => f.what);
    expect(hits(`import Database from 'better-sqlite3';`)).toEqual(['imports better-sqlite3']);
    expect(hits(`import type { Statement } from "better-sqlite3";`)).toEqual(['imports better-sqlite3']);
    expect(hits('const st = db.prepare(sql);')).toEqual(['prepares a statement']);
    expect(hits('meta.db.transaction(() => {')).toEqual(['opens a transaction on a handle']);
    expect(hits(`import type { Db } from '../meta/db.js';`)).toEqual(['imports the database handle (meta/db.ts)']);
    expect(hits('meta.commitObject(o);')).toEqual([]);
  });
});
