/**
 * The smallest string greater than every string that starts with `prefix`, in the byte
 * order SQLite uses for TEXT (UTF-8 byte order equals code point order).
 */
export function prefixUpperBound(prefix: string): string | null {
  const cps = Array.from(prefix);
  while (cps.length) {
    const cp = cps.pop()!.codePointAt(0)!;
    if (cp < 0x10ffff) {
      const next = cp + 1 === 0xd800 ? 0xe000 : cp + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}

/**
 * Compare two keys in the order listings return them: SQLite's BINARY collation compares
 * UTF-8 bytes, which is code point order. JavaScript's `<` compares UTF-16 code units,
 * which differs once a key holds a character above U+FFFF (a surrogate pair, 0xD800-0xDFFF,
 * sorts below U+E000-U+FFFF as code units but above them as code points).
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit moved so that surrogates rank above every other BMP unit. */
function codePointRank(u: number): number {
  return u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u;
}
