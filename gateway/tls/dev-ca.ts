import { generateKeyPairSync, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate } from '../../wire/x509.js';
import type { TlsFiles } from './server-certs.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * `shardgate dev --tls`: a local CA and a certificate for localhost, 127.0.0.1 and ::1 signed by
 * it, kept under DIR/tls and reused on later starts (renewed when it nears expiry). Clients
 * trust the CA file (AWS_CA_BUNDLE, --ca-bundle), never the server certificate itself, so a
 * renewal needs nothing new on their side. For local use only: a real deployment brings a
 * certificate from its own CA (SHARDGATE_TLS_CERT / SHARDGATE_TLS_KEY).
 */
export function ensureDevCertificate(dir: string, hosts: readonly string[] = []): TlsFiles & { ca: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (!existsSync(files.ca) || !existsSync(files.caKey)) {
    const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const cert = createCertificate({
      subjectKey: ca.publicKey, subjectName: 'shardgate dev CA', issuerKey: ca.privateKey, issuerName: 'shardgate dev CA',
      notAfter: new Date(Date.now() + 10 * 365 * DAY_MS), ca: true,
    });
    writeFileSync(files.caKey, ca.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(files.ca, cert.pem, { mode: 0o644 });
  }
  const names = [...new Set(['localhost', ...hosts.filter((h) => !/^[\d.:]+$/.test(h))])];
  const ips = [...new Set(['127.0.0.1', '::1', ...hosts.filter((h) => /^[\d.:]+$/.test(h) && h !== '0.0.0.0' && h !== '::')])];
  if (!current(files.cert, files.key, names, ips)) {
    const caKey = createPrivateKey(readFileSync(files.caKey, 'utf8'));
    const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // 397 days: the longest validity browsers accept for a server certificate.
    const cert = createCertificate({
      subjectKey: leaf.publicKey, subjectName: 'localhost', issuerKey: caKey, issuerName: 'shardgate dev CA',
      issuerPublicKey: createPublicKey(caKey), notAfter: new Date(Date.now() + 397 * DAY_MS), dnsNames: names, ips,
    });
    writeFileSync(files.key, leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(files.cert, cert.pem, { mode: 0o644 });
  }
  return { ca: files.ca, cert: files.cert, key: files.key };
}

/** The certificate exists, names every host asked for, and has a month left. */
function current(certFile: string, keyFile: string, names: string[], ips: string[]): boolean {
  if (!existsSync(certFile) || !existsSync(keyFile)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (Date.parse(cert.validTo) - Date.now() < 30 * DAY_MS) return false;
    const san = cert.subjectAltName ?? '';
    return names.every((n) => san.includes(`DNS:${n}`)) && ips.every((ip) => cert.checkIP(ip) !== undefined);
  } catch {
    return false;
  }
}
