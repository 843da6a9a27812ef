import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, importSPKI, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { TokenInvalidError, TokenScopeError } from './errors.js';
import {
  MAX_TOKEN_TTL_SECONDS, SHARD_OPS, TOKEN_ALG, TOKEN_CLOCK_TOLERANCE_SECONDS, TOKEN_ISSUER, type ShardOp,
} from './protocol.js';

/** A gateway public key this store accepts tokens from. */
export interface TrustedKey {
  kid: string;
  key: CryptoKey;
  /** Operations tokens signed by this key may use; all when absent (the gateway's own keys). */
  ops?: ReadonlySet<ShardOp>;
}

/** What a verified token allows. */
export interface VerifiedToken {
  audience: readonly string[];
  op: ShardOp;
  shards: ReadonlySet<string>;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

/** Load keys from files (public JWK, JWK set, or SPKI PEM) and from a JSON array of public JWKs. */
export async function loadTrustedKeys(paths: readonly string[], envJson?: string): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new TokenInvalidError(`cannot read trusted key ${path}: ${(err as Error).message}`, { cause: err });
    }
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      const parsed = parseJson(trimmed, path) as { keys?: unknown };
      const jwks = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
      for (const jwk of jwks) keys.push(await importTrustedJwk(jwk, path));
    } else if (trimmed.includes('-----BEGIN PUBLIC KEY-----')) {
      const key = await importSPKI(trimmed, TOKEN_ALG, { extractable: true });
      keys.push({ kid: path, key });
    } else {
      throw new TokenInvalidError(`trusted key ${path} is neither a public JWK nor an SPKI PEM file`);
    }
  }
  if (envJson !== undefined && envJson.trim() !== '') {
    const parsed = parseJson(envJson, 'SHARDGATE_TRUSTED_KEYS');
    if (!Array.isArray(parsed)) throw new TokenInvalidError('SHARDGATE_TRUSTED_KEYS must be a JSON array of public JWKs');
    for (const jwk of parsed) keys.push(await importTrustedJwk(jwk, 'SHARDGATE_TRUSTED_KEYS'));
  }
  return keys;
}

async function importTrustedJwk(value: unknown, source: string): Promise<TrustedKey> {
  if (typeof value !== 'object' || value === null) throw new TokenInvalidError(`${source}: a JWK must be a JSON object`);
  const jwk = value as JWK;
  if (jwk.d !== undefined) {
    // A private key here means it was copied to every provider's machine: refuse loudly.
    throw new TokenInvalidError(`${source} holds a private key; configure the public one (gateway-key.pub.jwk)`);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') throw new TokenInvalidError(`${source}: only Ed25519 (OKP) keys are accepted`);
  const key = await importJWK(jwk, TOKEN_ALG);
  if (key instanceof Uint8Array) throw new TokenInvalidError(`${source}: not an asymmetric key`);
  return { kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)), key };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TokenInvalidError(`${source} is not valid JSON`, { cause: err });
  }
}

export interface TokenVerifierOptions {
  /** Verified tokens kept; beyond it expired ones, then the oldest, are dropped. */
  maxCached?: number;
  now?: () => number;
}

/**
 * Verifies bearer tokens against the trusted gateway keys. A signature check costs far more
 * than a request should, and a token is reused for many requests, so verified tokens are
 * cached by their exact string until they expire.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, VerifiedToken>();
  private readonly maxCached: number;
  private readonly now: () => number;

  private readonly keys: TrustedKey[];

  constructor(keys: readonly TrustedKey[], opts: TokenVerifierOptions = {}) {
    if (keys.length === 0) throw new TokenInvalidError('no trusted gateway key configured');
    this.keys = [...keys];
    this.maxCached = opts.maxCached ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Trust one more key from now on (a recovery key registered by a trusted gateway). */
  addKey(key: TrustedKey): void {
    if (!this.keys.some((k) => k.kid === key.kid)) this.keys.push(key);
  }

  /** Verify an `Authorization` header value; throws TokenInvalidError (401). */
  async authenticate(header: string | undefined): Promise<VerifiedToken> {
    if (header === undefined) throw new TokenInvalidError('missing Authorization header');
    const match = /^Bearer +([A-Za-z0-9_.-]+)$/.exec(header);
    if (!match) throw new TokenInvalidError('Authorization must be "Bearer <token>"');
    const token = match[1]!;
    const cached = this.cache.get(token);
    if (cached) {
      if (cached.expiresAt + TOKEN_CLOCK_TOLERANCE_SECONDS * 1000 > this.now()) return cached;
      this.cache.delete(token);
      throw new TokenInvalidError('token expired');
    }
    const verified = await this.verify(token);
    this.remember(token, verified);
    return verified;
  }

  private async verify(token: string): Promise<VerifiedToken> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (err) {
      throw new TokenInvalidError('token is not a JWT', { cause: err });
    }
    const byKid = this.keys.filter((k) => k.kid === kid);
    const candidates = byKid.length > 0 ? byKid : this.keys;
    let payload: JWTPayload | undefined;
    let lastErr: unknown;
    let ops: ReadonlySet<ShardOp> | undefined;
    for (const { key, ops: allowed } of candidates) {
      ops = allowed;
      try {
        ({ payload } = await jwtVerify(token, key, {
          issuer: TOKEN_ISSUER,
          algorithms: [TOKEN_ALG],
          requiredClaims: ['exp', 'aud'],
          clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(this.now()),
        }));
        break;
      } catch (err) {
        lastErr = err;
      }
    }
    if (!payload) throw new TokenInvalidError(`token refused: ${(lastErr as Error).message}`, { cause: lastErr });
    const verified = toVerified(payload, this.now());
    if (ops && !ops.has(verified.op)) throw new TokenScopeError(`this key may not sign ${verified.op} tokens`);
    return verified;
  }

  private remember(token: string, verified: VerifiedToken): void {
    if (this.cache.size >= this.maxCached) {
      // Sweep in batches (down to 90%) so a full cache does not cost a scan per request.
      const now = this.now();
      for (const [t, v] of this.cache) if (v.expiresAt <= now) this.cache.delete(t);
      const target = Math.floor(this.maxCached * 0.9);
      // Map iteration is insertion order: the first entries are the oldest.
      for (const t of this.cache.keys()) {
        if (this.cache.size <= target) break;
        this.cache.delete(t);
      }
    }
    this.cache.set(token, verified);
  }
}

function toVerified(payload: JWTPayload, now: number): VerifiedToken {
  const exp = payload.exp!;
  if (exp - now / 1000 > MAX_TOKEN_TTL_SECONDS + TOKEN_CLOCK_TOLERANCE_SECONDS) {
    throw new TokenInvalidError(`token lives longer than ${MAX_TOKEN_TTL_SECONDS} s`);
  }
  const { op, shards } = payload as { op?: unknown; shards?: unknown };
  if (typeof op !== 'string' || !(SHARD_OPS as readonly string[]).includes(op)) throw new TokenInvalidError('token has no valid op claim');
  if (!Array.isArray(shards) || !shards.every((s): s is string => typeof s === 'string')) {
    throw new TokenInvalidError('token has no valid shards claim');
  }
  const aud = payload.aud!;
  return {
    audience: typeof aud === 'string' ? [aud] : aud,
    op: op as ShardOp,
    shards: new Set(shards),
    expiresAt: exp * 1000,
  };
}

/** Check a verified token allows `op` on `shardId` at store `storeId`; throws TokenScopeError (403). */
export function authorize(token: VerifiedToken, storeId: string, op: ShardOp, shardId?: string): void {
  if (!token.audience.includes(storeId)) throw new TokenScopeError(`token is not for shard-store ${storeId}`);
  if (token.op !== op) throw new TokenScopeError(`token allows ${token.op}, not ${op}`);
  if (shardId !== undefined && !token.shards.has(shardId)) throw new TokenScopeError(`token does not cover shard ${shardId}`);
}
