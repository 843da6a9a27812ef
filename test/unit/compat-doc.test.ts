import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

// docs/s3-compatibility.md promises, row by row, what the gateway does. This keeps it true: every
// row that claims anything has a test that names it (`// compat: <row>`), no test names a row the
// page lacks, and the page's Tests column lists exactly the files that name the row.

const root = join(import.meta.dirname, '..', '..');
const DOC = join(root, 'docs', 's3-compatibility.md');
const STATUSES = new Set(['supported', 'partial', 'deliberately different', 'not supported']);

interface Row { name: string; status: string; tests: string[]; line: number }

function rowsOfDoc(): Row[] {
  const rows: Row[] = [];
  readFileSync(DOC, 'utf8').split('\n').forEach((text, i) => {
    if (!text.startsWith('| ') || text.startsWith('| Row |')) return;
    const cells = text.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    const [name = '', status = '', , tests = ''] = cells;
    rows.push({ name, status, tests: tests.split(',').map((t) => t.trim().replace(/^`|`$/g, '')).filter(Boolean), line: i + 1 });
  });
  return rows;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Row name → test files (relative to test/) that carry `// compat: <row>`. */
function tags(): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const file of testFiles(join(root, 'test'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*\/\/ compat: (.+?)\s*$/gm)) {
      const name = m[1] ?? '';
      const files = found.get(name) ?? new Set<string>();
      files.add(relative(join(root, 'test'), file));
      found.set(name, files);
    }
  }
  return found;
}

describe('docs/s3-compatibility.md', () => {
  const rows = rowsOfDoc();
  const tagged = tags();

  test('has rows, each with a known status and a unique name', () => {
    expect(rows.length).toBeGreaterThan(50);
    for (const r of rows) expect(STATUSES.has(r.status), `line ${r.line}: status "${r.status}"`).toBe(true);
    const names = rows.map((r) => r.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  test('every test tag names a row of the page', () => {
    const names = new Set(rows.map((r) => r.name));
    expect([...tagged.keys()].filter((n) => !names.has(n))).toEqual([]);
  });

  test('every row that claims support is covered by a test', () => {
    const uncovered = rows.filter((r) => r.status !== 'not supported' && !tagged.has(r.name)).map((r) => `line ${r.line}: ${r.name}`);
    expect(uncovered).toEqual([]);
  });

  test('the Tests column lists exactly the files that name the row', () => {
    const wrong = rows.flatMap((r) => {
      const want = [...(tagged.get(r.name) ?? [])].sort();
      const have = [...r.tests].sort();
      return want.join() === have.join() ? [] : [`line ${r.line} (${r.name}) should read: ${want.map((f) => `\`${f}\``).join(', ')}`];
    });
    expect(wrong).toEqual([]);
  });
});
