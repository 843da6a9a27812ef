/**
 * IPv4 and IPv6 addresses and CIDR blocks as bytes, for the IpAddress condition operators.
 * An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack socket reports an IPv4
 * client) is its IPv4 address, so `10.0.0.0/8` matches it.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

export interface CidrBlock extends IpAddress {
  /** Leading bits that must match: 0..32 or 0..128. */
  prefix: number;
}

function v4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function v6Bytes(text: string): Uint8Array {
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) is the last two groups.
  const s = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head, rest] = s.split('::') as [string, string | undefined];
  const groups = (g: string): number[] => (g === '' ? [] : g.split(':').map((h) => parseInt(h, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** An address (zone id dropped), or undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  // The zone id is cut with indexOf: a pattern such as /%.*$/ backtracks on a long run of `%`.
  const trimmed = text.trim();
  const zone = trimmed.indexOf('%');
  const s = zone < 0 ? trimmed : trimmed.slice(0, zone);
  if (isIPv4(s)) return { family: 4, bytes: v4Bytes(s) };
  if (!isIPv6(s)) return undefined;
  const bytes = v6Bytes(s);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (the whole-length block). */
export function parseCidr(text: string): CidrBlock | undefined {
  const [addr, bits, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.bytes.length * 8;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  // A mapped block (`::ffff:10.0.0.0/104`) counts its prefix over the IPv4 part.
  const written = bits === undefined ? max : Number(bits) - (isIPv6(addr) && ip.family === 4 ? 96 : 0);
  if (written < 0 || written > max) return undefined;
  return { ...ip, prefix: written };
}

export function cidrContains(block: CidrBlock, ip: IpAddress): boolean {
  if (block.family !== ip.family) return false;
  let bits = block.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((block.bytes[i]! & mask) !== (ip.bytes[i]! & mask)) return false;
  }
  return true;
}
