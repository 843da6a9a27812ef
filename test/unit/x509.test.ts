import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificate } from '../../gateway/tls/dev-ca.js';
import { createCertificate } from '../../wire/x509.js';

describe('X.509 issuing (wire/x509.ts)', () => {
  it('makes a self-signed Ed25519 certificate Node parses and verifies', () => {
    const k = generateKeyPairSync('ed25519');
    const { pem } = createCertificate({ subjectKey: k.publicKey, subjectName: 'ss00', issuerKey: k.privateKey, issuerName: 'ss00', notAfter: new Date('2126-01-01T00:00:00Z') });
    const cert = new X509Certificate(pem);
    expect(cert.subject).toBe('CN=ss00');
    expect(cert.verify(k.publicKey)).toBe(true);
    // Dates from 2050 on are GeneralizedTime (RFC 5280): still read back exactly.
    expect(new Date(cert.validTo).toISOString()).toBe('2126-01-01T00:00:00.000Z');
    expect(cert.ca).toBe(false);
  });

  it('makes a CA and a server certificate it signed, with host names and addresses', () => {
    const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const caCert = new X509Certificate(createCertificate({
      subjectKey: ca.publicKey, subjectName: 'test CA', issuerKey: ca.privateKey, issuerName: 'test CA', notAfter: new Date(Date.now() + 86_400_000), ca: true,
    }).pem);
    const leafCert = new X509Certificate(createCertificate({
      subjectKey: leaf.publicKey, subjectName: 'localhost', issuerKey: ca.privateKey, issuerName: 'test CA', issuerPublicKey: ca.publicKey,
      notAfter: new Date(Date.now() + 86_400_000), dnsNames: ['localhost', 's3.example.com'], ips: ['127.0.0.1', '::1', 'fe80::1:2'],
    }).pem);
    expect(caCert.ca).toBe(true);
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.verify(ca.publicKey)).toBe(true);
    expect(leafCert.checkHost('s3.example.com')).toBe('s3.example.com');
    expect(leafCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leafCert.checkIP('::1')).toBe('::1');
    expect(leafCert.checkIP('fe80::1:2')).toBe('fe80::1:2');
    expect(leafCert.checkIP('10.0.0.1')).toBeUndefined();
  });

  it('refuses keys it cannot sign with', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => createCertificate({ subjectKey: rsa.publicKey, subjectName: 'x', issuerKey: rsa.privateKey, issuerName: 'x', notAfter: new Date() }))
      .toThrow(/Ed25519 or ECDSA P-256/);
  });
});

describe('shardgate dev --tls certificates', () => {
  it('are made once, kept private, and reused', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sg-tls-')), 'tls');
    const a = ensureDevCertificate(dir, ['127.0.0.1']);
    expect(statSync(a.key).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'ca.key')).mode & 0o077).toBe(0);
    expect(statSync(dir).mode & 0o077).toBe(0);
    const first = readFileSync(a.cert, 'utf8');
    const b = ensureDevCertificate(dir, ['127.0.0.1']);
    expect(readFileSync(b.cert, 'utf8')).toBe(first);
    // A host the certificate does not name gets a new one from the same CA.
    const c = ensureDevCertificate(dir, ['192.168.7.7']);
    const cert = new X509Certificate(readFileSync(c.cert));
    expect(cert.checkIP('192.168.7.7')).toBe('192.168.7.7');
    expect(cert.checkIssued(new X509Certificate(readFileSync(c.ca)))).toBe(true);
  });
});
