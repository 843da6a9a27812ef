import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import { keyFingerprint, peerFingerprint } from '../wire/identity.js';
import { ForbiddenError, UnauthenticatedError } from './errors.js';
import type { ShardOp } from './protocol.js';

/**
 * Who may talk to this store: the client keys it trusts, by fingerprint. A client proves it
 * holds its key in the TLS handshake (mutual TLS), once per connection; requests on that
 * connection are then the key holder's. Nothing a request carries can be replayed: there are
 * no bearer credentials on the wire.
 */
export interface TrustedKey {
  kid: string;
  /** keyFingerprint of the public key. */
  fingerprint: string;
  /** Operations this key may use; all when absent (the gateway's own keys). */
  ops?: ReadonlySet<ShardOp>;
}

/** A public Ed25519 key as a trusted key; `kid` names it in logs. */
export function trustedKey(publicKey: KeyObject, kid: string, ops?: ReadonlySet<ShardOp>): TrustedKey {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new UnauthenticatedError(`${kid}: only Ed25519 keys are accepted`);
  return { kid, fingerprint: keyFingerprint(publicKey), ...(ops && { ops }) };
}

/** A public Ed25519 JWK; a private one is refused (it would mean the gateway's secret was copied to a provider). */
export function trustedJwk(value: unknown, source: string, ops?: ReadonlySet<ShardOp>): TrustedKey {
  if (typeof value !== 'object' || value === null) throw new UnauthenticatedError(`${source}: a JWK must be a JSON object`);
  const jwk = value as Record<string, unknown>;
  if (jwk.d !== undefined) throw new UnauthenticatedError(`${source} holds a private key; configure the public one (gateway-key.pub.jwk)`);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new UnauthenticatedError(`${source}: only Ed25519 (OKP) keys are accepted`);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  return trustedKey(key, typeof jwk.kid === 'string' ? jwk.kid : keyFingerprint(key), ops);
}

/** Load keys from files (public JWK, JWK set, or SPKI PEM) and from a JSON array of public JWKs. */
export async function loadTrustedKeys(paths: readonly string[], envJson?: string): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new UnauthenticatedError(`cannot read trusted key ${path}: ${(err as Error).message}`, { cause: err });
    }
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      const parsed = parseJson(trimmed, path) as { keys?: unknown };
      const jwks = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
      for (const jwk of jwks) keys.push(trustedJwk(jwk, path));
    } else if (trimmed.includes('-----BEGIN PUBLIC KEY-----')) {
      keys.push(trustedKey(createPublicKey(trimmed), path));
    } else {
      throw new UnauthenticatedError(`trusted key ${path} is neither a public JWK nor an SPKI PEM file`);
    }
  }
  if (envJson !== undefined && envJson.trim() !== '') {
    const parsed = parseJson(envJson, 'SHARDGATE_TRUSTED_KEYS');
    if (!Array.isArray(parsed)) throw new UnauthenticatedError('SHARDGATE_TRUSTED_KEYS must be a JSON array of public JWKs');
    for (const jwk of parsed) keys.push(trustedJwk(jwk, 'SHARDGATE_TRUSTED_KEYS'));
  }
  return keys;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UnauthenticatedError(`${source} is not valid JSON`, { cause: err });
  }
}

/** The trusted keys of a running store, looked up by the fingerprint a connection proved. */
export class PeerTrust {
  private readonly byFingerprint = new Map<string, TrustedKey>();
  /** A connection's key is judged once, at its first request; keep-alive requests reuse it. */
  private readonly bySocket = new WeakMap<TLSSocket, TrustedKey>();

  constructor(keys: readonly TrustedKey[]) {
    if (keys.length === 0) throw new UnauthenticatedError('no trusted gateway key configured');
    for (const k of keys) this.addKey(k);
  }

  /** Trust one more key from now on (a recovery key registered by a trusted gateway). The first grant of a key stands. */
  addKey(key: TrustedKey): void {
    if (!this.byFingerprint.has(key.fingerprint)) this.byFingerprint.set(key.fingerprint, key);
  }

  private readonly monitors = new Set<string>();

  /**
   * Serve exactly these monitor keys from now on (the set the gateway lists): keys left out
   * are refused from their next request, even on a connection already open. A key the store
   * trusts otherwise (the gateway's, a recovery key) keeps its own grant.
   */
  setMonitorKeys(keys: readonly TrustedKey[]): void {
    for (const fp of this.monitors) this.byFingerprint.delete(fp);
    this.monitors.clear();
    for (const k of keys) {
      if (this.byFingerprint.has(k.fingerprint)) continue;
      this.byFingerprint.set(k.fingerprint, k);
      this.monitors.add(k.fingerprint);
    }
  }

  /** The trusted key behind a connection; throws UnauthenticatedError (401). */
  authenticate(socket: TLSSocket): TrustedKey {
    const known = this.bySocket.get(socket);
    // A connection keeps its key only while the store still trusts it (monitor keys come and go).
    if (known && this.byFingerprint.get(known.fingerprint) === known) return known;
    const fp = peerFingerprint(socket);
    if (fp === undefined) throw new UnauthenticatedError('no client certificate: connect with the gateway\'s TLS identity');
    const key = this.byFingerprint.get(fp);
    if (!key) throw new UnauthenticatedError(`client key ${fp} is not trusted by this store (start it with --trusted-key <gateway data>/gateway-key.pub.jwk)`);
    this.bySocket.set(socket, key);
    return key;
  }
}

/** Check a peer may use `op`; throws ForbiddenError (403). */
export function authorize(peer: TrustedKey, op: ShardOp): void {
  if (peer.ops && !peer.ops.has(op)) throw new ForbiddenError(`key ${peer.kid} may not ${op}`);
}
