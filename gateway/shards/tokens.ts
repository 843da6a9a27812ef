import { SignJWT } from 'jose';
import { MAX_TOKEN_TTL_SECONDS, TOKEN_ALG, TOKEN_ISSUER, type ShardOp } from '../../shard-store/protocol.js';
import type { GatewayKey } from './keys.js';

export interface TokenMinterOptions {
  /** Lifetime of minted tokens; at most the stores' limit (600 s). */
  ttlSeconds?: number;
  /** A cached token is replaced when it has less than this left, so it never expires in flight. */
  renewBeforeSeconds?: number;
  /** Cached tokens kept; the oldest go first. */
  maxCached?: number;
  now?: () => number;
}

interface Cached {
  token: Promise<string>;
  /** ms since the epoch after which the token is renewed. */
  renewAt: number;
}

/**
 * Mints the bearer tokens shard-stores accept, one per (node, op, shard), and reuses each
 * until it nears expiry: a signature costs more than the request it authorises, and the
 * stores cache verified tokens by string, so reuse saves work on both ends.
 */
export class TokenMinter {
  private readonly cache = new Map<string, Cached>();
  private readonly ttl: number;
  private readonly renewBefore: number;
  private readonly maxCached: number;
  private readonly now: () => number;

  constructor(private readonly key: GatewayKey, opts: TokenMinterOptions = {}) {
    this.ttl = Math.min(opts.ttlSeconds ?? 300, MAX_TOKEN_TTL_SECONDS);
    this.renewBefore = Math.min(opts.renewBeforeSeconds ?? 60, this.ttl / 2);
    this.maxCached = opts.maxCached ?? 50_000;
    this.now = opts.now ?? Date.now;
  }

  /** A token for `op` on one shard (or none, for `status`) at store `nodeId`, from the cache when fresh. */
  token(nodeId: string, op: ShardOp, shardId?: string): Promise<string> {
    const cacheKey = `${nodeId}\n${op}\n${shardId ?? ''}`;
    const now = this.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.renewAt > now) return hit.token;
    if (hit) this.cache.delete(cacheKey);
    const token = this.mint(nodeId, op, shardId === undefined ? [] : [shardId]);
    // A failed mint must not stay cached.
    token.catch(() => this.cache.delete(cacheKey));
    if (this.cache.size >= this.maxCached) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(cacheKey, { token, renewAt: now + (this.ttl - this.renewBefore) * 1000 });
    return token;
  }

  /** A fresh, uncached token; `ttlSeconds` overrides the lifetime (tests use it for expired and too-long tokens). */
  async mint(audience: string, op: ShardOp, shards: string[], opts: { ttlSeconds?: number; issuedAt?: number } = {}): Promise<string> {
    const iat = opts.issuedAt ?? Math.floor(this.now() / 1000);
    return new SignJWT({ op, shards })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.key.kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (opts.ttlSeconds ?? this.ttl))
      .sign(this.key.privateKey);
  }
}
