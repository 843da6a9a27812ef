import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError } from '../secrets.js';

/** Where the S3 port's certificate chain and key are read from (PEM files). */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * Read and check a certificate chain and its key, so that a mistake is reported as what it
 * is (a path, a key that does not match) at start or reload, not as a handshake failure
 * every client sees later.
 */
export function readTlsFiles(files: TlsFiles): SecureContextOptions {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(files.cert, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the TLS certificate ${files.cert}: ${(err as Error).message}`);
  }
  try {
    key = readFileSync(files.key, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the TLS key ${files.key}: ${(err as Error).message}`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(`${files.cert} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(`${files.key} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new ConfigError(`${files.key} is not the key of the certificate in ${files.cert}`);
  if (Date.parse(leaf.validTo) < Date.now()) {
    console.error(`warning: the TLS certificate ${files.cert} expired on ${leaf.validTo}; clients will refuse it`);
  }
  return { cert, key };
}

/** What a running HTTPS server needs to take new certificates (tls.Server.setSecureContext). */
interface Reloadable {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Reload the certificate and key on SIGHUP, as certbot-style renewals expect: a renewed pair
 * serves new connections at once, open ones keep theirs. A pair that does not load is
 * reported and the old one stays in use. Returns a function that stops listening.
 */
export function reloadOnSighup(server: Reloadable, files: TlsFiles, log: (line: string) => void = console.log): () => void {
  const reload = (): void => {
    try {
      server.setSecureContext(readTlsFiles(files));
      log(`SIGHUP: reloaded the TLS certificate ${files.cert}`);
    } catch (err) {
      log(`SIGHUP: kept the old TLS certificate: ${(err as Error).message}`);
    }
  };
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}
