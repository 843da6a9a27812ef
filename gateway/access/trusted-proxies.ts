/**
 * Whose word about a request's origin counts. `X-Forwarded-Proto` and `X-Forwarded-For` are
 * ordinary headers any client can send; only a proxy the operator listed in
 * SHARDGATE_TRUSTED_PROXIES is believed when it says the client used TLS (aws:SecureTransport,
 * the SSE-C rule) or who the client is (aws:SourceIp).
 */
import type { IncomingMessage } from 'node:http';
import type { Transport } from '../s3/sse-c.js';
import { headerOf, type HeaderBag } from '../s3/headers.js';
import { cidrContains, parseCidr, parseIp, type CidrBlock } from './cidr.js';

export class TrustedProxies {
  static readonly NONE = new TrustedProxies([]);

  private constructor(private readonly blocks: readonly CidrBlock[]) {}

  /**
   * `10.0.0.5, 10.1.0.0/16, ::1, fd00::/8`: addresses and CIDR blocks, IPv4 and IPv6, separated
   * by commas or spaces; empty trusts no one. Throws RangeError naming an entry it cannot read.
   */
  static parse(text: string | undefined): TrustedProxies {
    const blocks: CidrBlock[] = [];
    for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
      const block = parseCidr(entry);
      if (!block) throw new RangeError(`"${entry}" is not an IP address or CIDR block`);
      blocks.push(block);
    }
    return blocks.length ? new TrustedProxies(blocks) : TrustedProxies.NONE;
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }

  trusts(address: string | undefined): boolean {
    const ip = address === undefined ? undefined : parseIp(address);
    return ip !== undefined && this.blocks.some((b) => cidrContains(b, ip));
  }
}

/** Headers that say a request was relayed for someone else. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'forwarded'];

/** One X-Forwarded-For entry as an address: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`. */
function forwardedAddress(entry: string): string | undefined {
  const s = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(s);
  const address = bracketed?.[1] ?? v4WithPort?.[1] ?? s;
  return parseIp(address) ? address : undefined;
}

/**
 * The client behind a chain of proxies: X-Forwarded-For read from the right (each proxy appends
 * the address it got the request from), skipping proxies we trust; the first one we do not
 * trust is the client, since anything left of it is what that client chose to say. Undefined
 * when that entry is not an address.
 */
export function clientAddress(forwardedFor: string, trusted: TrustedProxies): string | undefined {
  const hops = forwardedFor.split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const address = forwardedAddress(hops[i]!);
    if (address === undefined) return undefined;
    if (!trusted.trusts(address) || i === 0) return address;
  }
  return undefined;
}

/**
 * Where a request came from, as far as policies and the SSE-C rule need to know. The TCP peer is
 * always the peer; X-Forwarded-Proto and X-Forwarded-For count only when that peer is trusted.
 */
export function transportOf(req: Pick<IncomingMessage, 'socket' | 'headersDistinct'>, trusted: TrustedProxies): Transport {
  const headers = req.headersDistinct as HeaderBag;
  const socket = req.socket;
  const peer = socket.remoteAddress;
  const transport: Transport = {
    encrypted: 'encrypted' in socket && socket.encrypted === true,
    remoteAddress: peer,
    forwardedProto: undefined,
    forwarded: FORWARDING_HEADERS.some((h) => headerOf(headers, h) !== undefined),
  };
  if (!trusted.trusts(peer)) return transport;
  const proto = headerOf(headers, 'x-forwarded-proto');
  const forwardedFor = headerOf(headers, 'x-forwarded-for');
  return {
    ...transport,
    forwardedProto: proto,
    ...(forwardedFor !== undefined && { clientAddress: clientAddress(forwardedFor, trusted) ?? null }),
  };
}
