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
