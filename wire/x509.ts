import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString, boolean, explicit, implicitPrimitive, octetString, oid, sequence, set, smallInteger, time, tlv, unsignedInteger, utf8String,
} from './der.js';

/**
 * Certificates for the project's own TLS: the shard-stores' and the gateway's identities (Ed25519,
 * pinned by public key), and the local CA and server certificate `shardgate dev --tls` makes for the
 * S3 port (ECDSA P-256, which every S3 client and browser takes). Node can parse and verify X.509
 * (crypto.X509Certificate) but not issue it; this is the small issuing half, nothing more.
 */
export interface CertificateRequest {
  /** The key the certificate is for. */
  subjectKey: KeyObject;
  subjectName: string;
  /** Signs the certificate: the subject's own private key for a self-signed one. */
  issuerKey: KeyObject;
  issuerName: string;
  /** The issuer's certificate's key identifier (its subjectKey's), for chain building. */
  issuerPublicKey?: KeyObject;
  notBefore?: Date;
  notAfter: Date;
  /** A CA certificate (may sign others) rather than an end entity. */
  ca?: boolean;
  /** Names a client checks against the host it dialled (subjectAltName). */
  dnsNames?: readonly string[];
  ips?: readonly string[];
}

const OID = {
  ed25519: '1.3.101.112',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** The DER-encoded certificate, and its PEM text. */
export function createCertificate(req: CertificateRequest): { der: Buffer; pem: string } {
  const { algorithm, digest } = signatureAlgorithm(req.issuerKey);
  const subjectPublic = req.subjectKey.type === 'private' ? createPublicKey(req.subjectKey) : req.subjectKey;
  const issuerPublic = req.issuerPublicKey ?? (req.issuerKey.type === 'private' ? createPublicKey(req.issuerKey) : req.issuerKey);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive, at most 20 octets (RFC 5280 4.1.2.2)
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    name(req.issuerName),
    sequence(time(req.notBefore ?? new Date(Date.now() - 60_000)), time(req.notAfter)),
    name(req.subjectName),
    subjectPublic.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions(req, subjectPublic, issuerPublic))),
  );
  const signature = sign(digest, tbs, req.issuerKey);
  const der = sequence(tbs, algorithm, bitString(signature));
  return { der, pem: toPem(der) };
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function signatureAlgorithm(key: KeyObject): { algorithm: Buffer; digest: string | null } {
  if (key.asymmetricKeyType === 'ed25519') return { algorithm: sequence(oid(OID.ed25519)), digest: null };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { algorithm: sequence(oid(OID.ecdsaSha256)), digest: 'sha256' };
  }
  throw new TypeError(`certificates are signed with Ed25519 or ECDSA P-256 keys, not ${key.asymmetricKeyType ?? 'this key'}`);
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** SHA-1 of the SPKI, the usual key identifier (RFC 7093 allows any stable method). */
function keyId(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}

function extensions(req: CertificateRequest, subjectPublic: KeyObject, issuerPublic: KeyObject): Buffer[] {
  const out = [
    extension(OID.basicConstraints, true, req.ca ? sequence(boolean(true)) : sequence()),
    // digitalSignature (bit 0), plus keyCertSign and cRLSign (bits 5, 6) for a CA.
    extension(OID.keyUsage, true, req.ca ? tlv(0x03, Buffer.from([0x01, 0x86])) : tlv(0x03, Buffer.from([0x07, 0x80]))),
    extension(OID.subjectKeyId, false, octetString(keyId(subjectPublic))),
    extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, keyId(issuerPublic)))),
  ];
  if (!req.ca) out.push(extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth))));
  const names = [
    ...(req.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...(req.ips ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))),
  ];
  if (names.length) out.push(extension(OID.subjectAltName, false, sequence(...names)));
  return out;
}

function ipBytes(ip: string): Buffer {
  const v = isIP(ip);
  if (v === 4) return Buffer.from(ip.split('.').map(Number));
  if (v !== 6) throw new TypeError(`not an IP address: ${ip}`);
  // Expand "::" and embedded IPv4, then pack 8 groups.
  const [head, tail = ''] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':')).flatMap((g) => (g.includes('.') ? v4Groups(g) : [g]));
  const h = groups(head);
  const t = ip.includes('::') ? groups(tail) : [];
  const all = ip.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function v4Groups(v4: string): string[] {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
