#!/usr/bin/env node
// Screenshots of the web console's main pages for docs/console/, taken in Debian's Chromium
// (playwright-core, no browser download) against a `shardgate dev` cluster in a temp folder.
// Run with `npm run screenshots` (it builds first). CHROMIUM_PATH overrides /usr/bin/chromium.
import { S3Client, CreateBucketCommand, GetObjectCommand, PutObjectCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { adminRequest } from '../dist/cli/admin.js';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const KEY = 'CONSOLESHOTSROOTKEY1';
const SECRET = 'console-screenshots-secret-0123456789';

if (!existsSync(CHROMIUM)) {
  console.error(`Chromium is not at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH`);
  process.exit(1);
}

const data = mkdtempSync(join(tmpdir(), 'shardgate-shots-'));
const dev = spawn(process.execPath, [join(ROOT, 'bin', 'shardgate.js'), 'dev', '--data', data, '--port', '0', '--zones', '4'], {
  env: { ...process.env, SHARDGATE_ROOT_USER: KEY, SHARDGATE_ROOT_PASSWORD: SECRET, SHARDGATE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const stop = () => new Promise((r) => {
  if (dev.exitCode !== null) return r();
  dev.once('exit', r);
  dev.kill('SIGTERM');
});

try {
  const endpoint = await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('shardgate dev did not start within 60 s')), 60_000);
    createInterface({ input: dev.stdout }).on('line', (l) => {
      const m = /S3 endpoint:\s+(\S+)/.exec(l);
      if (m) {
        clearTimeout(t);
        res(m[1]);
      }
    });
    dev.once('exit', (code) => rej(new Error(`shardgate dev exited (${code})`)));
  });

  // Something to look at: a few buckets, folders and objects of several sizes.
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  for (const b of ['backups', 'photos', 'website']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'backups', VersioningConfiguration: { Status: 'Enabled' } }));
  const files = [
    ['2026/11/', 'holiday-001.jpg', 2_400_000], ['2026/11/', 'holiday-002.jpg', 3_100_000], ['2026/11/', 'holiday-003.jpg', 2_850_000],
    ['2026/11/', 'panorama.tif', 18_000_000], ['2026/11/', 'notes.txt', 1_200], ['2026/11/', 'raw/', 0],
  ];
  for (const [prefix, name, size] of files) {
    if (name.endsWith('/')) await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: `${prefix}${name}img-0001.cr3`, Body: Buffer.alloc(900_000, 7) }));
    else await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: prefix + name, Body: Buffer.alloc(size, 1) }));
  }
  await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: '2025/summer/beach.jpg', Body: Buffer.alloc(1_500_000, 2) }));
  await s3.send(new PutObjectCommand({ Bucket: 'website', Key: 'index.html', Body: '<h1>hello</h1>' }));
  for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: 'backups', Key: 'db/dump.sql.gz', Body: Buffer.alloc(5_000_000 + i, 3) }));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
  await page.goto(`${endpoint}/_shardgate/console/`);
  await page.fill('#access-key-id', KEY);
  await page.fill('#secret-access-key', SECRET);
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'sign-in.png') });
  await page.click('button[type=submit]');
  await page.waitForSelector('#buckets');
  await page.screenshot({ path: join(OUT, 'buckets.png') });
  await page.goto(`${endpoint}/_shardgate/console/#/b/photos/2026%2F11%2F`);
  await page.waitForSelector('#objects tr[data-key]');
  await page.screenshot({ path: join(OUT, 'objects.png') });
  await page.goto(`${endpoint}/_shardgate/console/#/object/backups/db%2Fdump.sql.gz`);
  await page.waitForSelector('#versions table');
  await page.screenshot({ path: join(OUT, 'object.png'), fullPage: true });
  await page.goto(`${endpoint}/_shardgate/console/#/settings/backups`);
  await page.waitForSelector('#versioning-state');
  await page.screenshot({ path: join(OUT, 'settings.png') });
  // An audit round and a closed report period, for the cluster page to show.
  const target = { endpoint, region: 'us-east-1', accessKeyId: KEY, secretAccessKey: SECRET };
  await adminRequest(target, 'POST', '/audit', {});
  await adminRequest(target, 'POST', '/reports/publish', {});
  await page.setViewportSize({ width: 1200, height: 1000 });
  await page.goto(`${endpoint}/_shardgate/console/#/cluster`);
  await page.waitForSelector('table.nodes');
  await page.waitForSelector('#reports table');
  await page.screenshot({ path: join(OUT, 'cluster.png') });
  await page.setViewportSize({ width: 1200, height: 720 });
  // The activity charts sample every 10 s: some traffic for three samples.
  const until = Date.now() + 32_000;
  for (let i = 0; Date.now() < until; i++) {
    if (i % 3 === 0) await s3.send(new PutObjectCommand({ Bucket: 'website', Key: `page-${i % 30}.html`, Body: Buffer.alloc(20_000 + (i % 7) * 10_000, 4) }));
    const res = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: '2026/11/holiday-001.jpg' }));
    await res.Body.transformToByteArray();
  }
  await page.goto(`${endpoint}/_shardgate/console/#/activity`);
  await page.waitForSelector('figure.chart');
  await page.screenshot({ path: join(OUT, 'activity.png'), fullPage: true });
  await browser.close();
  console.log(`screenshots written to ${OUT}`);
} finally {
  await stop();
  rmSync(data, { recursive: true, force: true });
}
