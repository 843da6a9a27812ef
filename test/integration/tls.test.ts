import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { ensureDevCertificate } from '../../gateway/tls/dev-ca.js';
import { ACCESS_KEY, SECRET_KEY, spawnAndWait, startCluster, type Cluster } from '../helpers/cluster.js';
import { onPath } from '../helpers/clients.js';

const run = promisify(execFile);

/** The SHA-256 fingerprint of the certificate a fresh connection to the gateway is served. */
async function servedFingerprint(c: Cluster): Promise<string> {
  const { port } = new URL(c.endpoint);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(c.caFile!), servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.end();
    });
    s.once('error', reject);
  });
}

describe('TLS on the S3 port', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ tls: true });
  });

  it('serves S3 over HTTPS to the JS SDK, with the bytes intact', async () => {
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'tls' }));
    const body = randomBytes(300_000);
    await s3.send(new PutObjectCommand({ Bucket: 'tls', Key: 'a.bin', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'tls', Key: 'a.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('answers nothing useful to plain HTTP on the TLS port', async () => {
    const { port } = new URL(c.endpoint);
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5_000 }, (res) => resolve(`status ${res.statusCode}`));
      req.once('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(outcome).not.toMatch(/^status 2/);
  });

  it.skipIf(!onPath('aws'))('works with aws-cli trusting the CA (AWS_CA_BUNDLE)', async () => {
    const env = {
      ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CA_BUNDLE: c.caFile!, AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1',
    };
    const endpoint = c.endpoint.replace('127.0.0.1', 'localhost');
    await run('aws', ['--endpoint-url', endpoint, 's3', 'cp', join(c.dir, 'tls', 'ca.pem'), 's3://tls/ca.pem'], { env });
    const { stdout } = await run('aws', ['--endpoint-url', endpoint, 's3', 'ls', 's3://tls/'], { env });
    expect(stdout).toContain('ca.pem');
    // Without the CA, the client refuses the connection.
    const { AWS_CA_BUNDLE: _trusted, ...untrusting } = env;
    const refused = await run('aws', ['--endpoint-url', endpoint, 's3', 'ls', 's3://tls/'], { env: untrusting }).then(() => 'ok', (e: Error) => e.message);
    expect(refused).toMatch(/SSL|certificate/i);
  });

  it('takes a renewed certificate on SIGHUP without dropping the service', async () => {
    const before = await servedFingerprint(c);
    // A renewal: a new key and certificate from the same CA, written over the old files.
    const renewed = join(c.dir, 'tls-renewed');
    mkdirSync(renewed);
    copyFileSync(join(c.dir, 'tls', 'ca.pem'), join(renewed, 'ca.pem'));
    copyFileSync(join(c.dir, 'tls', 'ca.key'), join(renewed, 'ca.key'));
    const next = ensureDevCertificate(renewed);
    copyFileSync(next.cert, join(c.dir, 'tls', 'cert.pem'));
    copyFileSync(next.key, join(c.dir, 'tls', 'key.pem'));
    c.gateway.kill('SIGHUP');
    await expect.poll(() => servedFingerprint(c), { timeout: 10_000, interval: 200 }).not.toBe(before);
    const got = await c.client().send(new GetObjectCommand({ Bucket: 'tls', Key: 'a.bin' }));
    expect((await got.Body!.transformToByteArray()).length).toBe(300_000);
  });

  it('refuses to start with a certificate but no key, saying what to set', async () => {
    const err = await spawnAndWait(['gateway', '--data', join(c.dir, 'other'), '--port', '0', '--tls-cert', c.caFile!], { ...process.env }, /S3 endpoint/, 15_000)
      .then(() => '', (e: Error) => e.message);
    expect(err).toMatch(/--tls-key/);
  });
});
