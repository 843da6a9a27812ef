import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { createCertificate } from './x509.js';

/**
 * How the gateway and the shard-stores know each other: mutual TLS between Ed25519 keys,
 * each pinned by the SHA-256 of its public key (SPKI). A store serves only connections whose
 * client key it trusts (the gateway's, or a recovery key the gateway registered), and the
 * gateway talks only to a store whose key it pinned. The certificates are self-signed
 * carriers for the keys: no CA, no names, nothing to renew. Identity is checked once per
 * connection (the TLS handshake), so no request pays for public-key crypto.
 */
export interface TlsIdentity {
  /** PEM, PKCS#8. */
  key: string;
  /** PEM, self-signed. */
  cert: string;
  /** `sha256:` + base64url of the SHA-256 of the public key (SPKI DER). */
  fingerprint: string;
}

const FINGERPRINT_RE = /^sha256:[A-Za-z0-9_-]{43}$/;

/** A key fingerprint as stores print it (sha256: and 43 base64url characters). */
export function isFingerprint(value: string): boolean {
  return FINGERPRINT_RE.test(value);
}

export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64url')}`;
}

/** A certificate carrying `privateKey`'s public half, signed by itself. */
export function identityFromKey(privateKey: KeyObject, name: string): TlsIdentity {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('TLS identities are Ed25519 keys');
  const { pem } = createCertificate({
    subjectKey: privateKey, subjectName: name, issuerKey: privateKey, issuerName: name,
    // The key is what is trusted; the certificate only carries it, so it does not expire in practice.
    notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('9999-12-31T23:59:59Z'),
  });
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: pem, fingerprint: keyFingerprint(privateKey) };
}

export function newIdentityKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/** An Ed25519 private key from PEM (PKCS#8) or a private JWK. */
export function privateKeyFrom(value: string | Record<string, unknown>): KeyObject {
  return typeof value === 'string' ? createPrivateKey(value) : createPrivateKey({ key: value as import('node:crypto').JsonWebKey, format: 'jwk' });
}

/** The fingerprint of the key the peer proved it holds in this connection's handshake. */
export function peerFingerprint(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert ? keyFingerprint(cert.publicKey) : undefined;
}
