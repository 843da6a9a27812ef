const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header value as the UTF-8 text its bytes spell. Node hands header values over as latin1,
 * one character per byte on the wire, and clients send non-ASCII text (metadata, signed
 * values) as raw UTF-8 bytes: those are read back as UTF-8 when they are valid UTF-8, and left
 * as they are otherwise (plain ASCII, or bytes that are not UTF-8).
 */
export function headerUtf8(value: string): string {
  // eslint-disable-next-line no-control-regex -- a range of latin1 from U+0000
  if (!/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
  try {
    return strictUtf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
