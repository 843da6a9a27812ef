/**
 * The web console in a real browser: Debian's Chromium, headless, driven by playwright-core
 * against a real cluster. Everything goes through the page (sign-in, bucket creation, a
 * 20 MiB upload, download, versioning), and the S3 API checks what the page did. A non-root
 * user sees neither the root pages nor another user's buckets, and the secret stays out of
 * every storage the browser keeps.
 */
import {
  CreateBucketCommand, GetBucketVersioningCommand, GetObjectLegalHoldCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand,
  PutBucketVersioningCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ACCESS_KEY, runAdmin, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { adminRequest } from '../../cli/admin.js';
import { mapLimit } from '../../gateway/map-limit.js';
import { onClose } from '../helpers/registry.js';
import { bytes, objectBytes } from '../helpers/s3.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const NO_CHROMIUM = `Chromium is not installed at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)`;
const CONSOLE = '/_shardgate/console/';
// A 20 MiB upload through a browser and a gateway sharing two loaded cores: room for it.
const UPLOAD_TEST = { timeout: 180_000 };

let cluster: Cluster;
let s3: S3Client;
let browser: Browser;

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  // The economy is on, as with `npm start`: every store funded, one delegator; eras of 3 s.
  const genesisDir = mkdtempSync(join(tmpdir(), 'shardgate-console-genesis-'));
  onClose(() => rmSync(genesisDir, { recursive: true, force: true }), 'file');
  const stores = Array.from({ length: 16 }, (_, i) => `ss${String(i).padStart(2, '0')}`);
  writeFileSync(join(genesisDir, 'genesis.json'), JSON.stringify({
    params: { eraMs: 3_000 },
    allocations: [{ account: 'provider:console', amount: '400000000' }, { account: 'delegator:dana', amount: '10000000' }],
    events: [
      ...stores.map((store) => ({ type: 'deposit', provider: 'console', store, amount: '20000000' })),
      { type: 'delegate', delegator: 'dana', store: 'ss03', amount: '5000000' },
    ],
  }));
  [cluster, browser] = await Promise.all([
    startCluster({ scope: 'file', env: { SHARDGATE_LEDGER_GENESIS: join(genesisDir, 'genesis.json') } }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
  ]);
  s3 = cluster.client();
});

afterAll(async () => {
  await browser?.close();
});

interface Opened {
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors (a CSP violation is one). */
  problems: string[];
}

async function open(): Promise<Opened> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A 4xx the page expects and shows as a sentence (e.g. no policy yet) is logged by Chromium as a failed resource.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(cluster.endpoint + CONSOLE);
  return { context, page, problems };
}

async function signIn(page: Page, id: string, secret: string): Promise<void> {
  await page.fill('#access-key-id', id);
  await page.fill('#secret-access-key', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('#sign-out');
}

/** Every place a browser keeps things for a site: the secret must be in none of them. */
async function storedEverywhere(o: Opened): Promise<string> {
  // Strings run in the page (this file is typed for Node, not the DOM).
  const inPage = await o.page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, url: location.href })');
  const cookies = JSON.stringify(await o.context.cookies());
  return inPage + cookies;
}

describe('web console', () => {
  test('root: sign in, create a bucket, upload 20 MiB, browse, download the same bytes, change versioning, sign out', UPLOAD_TEST, async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const o = await open();
    const { page } = o;
    // A wrong secret is refused with a sentence, not signed in.
    await page.fill('#access-key-id', ACCESS_KEY);
    await page.fill('#secret-access-key', 'not-the-secret');
    await page.click('button[type=submit]');
    await expect(page.locator('.signin .error').textContent()).resolves.toMatch(/secret does not match/);

    await signIn(page, ACCESS_KEY, SECRET_KEY);
    expect(await storedEverywhere(o)).not.toContain(SECRET_KEY);
    for (const tab of ['Users', 'Cluster', 'Activity']) await expect(page.locator('header nav a', { hasText: tab }).count()).resolves.toBe(1);

    // Create a bucket through the form: the page goes to its (empty) object browser.
    const bucket = 'console-root-1';
    await page.fill('#create-bucket input[name=bucket-name]', bucket);
    await page.click('#create-bucket button[type=submit]');
    await page.waitForSelector('text=This folder is empty');

    // 20 MiB: over the multipart threshold (16 MiB), so three parts of 8, 8 and 4 MiB.
    const data = bytes(20 * 1024 * 1024, 'console-upload');
    await page.setInputFiles('#file-input', { name: 'big file é+&.bin', mimeType: 'application/octet-stream', buffer: data });
    await page.waitForSelector('#uploads li[data-state=done]', { timeout: 150_000 });
    await expect(page.locator('#upload-total').textContent()).resolves.toMatch(/all finished, 20\.0 MiB of 20\.0 MiB/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big file é+&.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ETag).toMatch(/-3"$/);

    // The listing shows it (after the upload the page lists again); download it through the page.
    const row = page.locator('#objects tr[data-key="big file é+&.bin"]');
    await row.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('button.download').click()]);
    expect(download.suggestedFilename()).toBe('big file é+&.bin');
    const saved = await download.path();
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));

    // Versioning from the settings page, checked with the S3 API.
    await page.click('text=Bucket settings');
    await page.waitForSelector('#versioning-state');
    await expect(page.locator('#versioning-state').textContent()).resolves.toBe('never enabled');
    await page.click('text=Enable versioning');
    await page.locator('#versioning-state', { hasText: /^enabled$/ }).waitFor();
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    await page.click('text=Suspend versioning');
    await page.locator('#versioning-state', { hasText: /^suspended$/ }).waitFor();
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Suspended');

    // Deleting a bucket that is not empty says what to do.
    await page.click('header nav a:has-text("Buckets")');
    page.once('dialog', (d) => void d.accept());
    await page.locator(`#buckets tr[data-bucket="${bucket}"] button.danger`).click();
    await expect(page.locator('.error').first().textContent()).resolves.toMatch(/not empty.*first/);

    // Sign-out forgets the secret: the page asks again, and nothing kept it.
    await page.click('#sign-out');
    await page.waitForSelector('#secret-access-key');
    await expect(page.inputValue('#secret-access-key')).resolves.toBe('');
    await page.goto(cluster.endpoint + CONSOLE + '#/buckets');
    await page.reload();
    await page.waitForSelector('#secret-access-key');
    expect(await storedEverywhere(o)).not.toContain(SECRET_KEY);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('root pages: users, cluster with 16 stores, activity; a long key does not break the browser', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    await s3.send(new CreateBucketCommand({ Bucket: 'console-root-2' }));
    const longKey = 'deep/' + 'k'.repeat(1000);
    await s3.send(new PutObjectCommand({ Bucket: 'console-root-2', Key: longKey, Body: 'x' }));
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.goto(cluster.endpoint + CONSOLE + '#/b/console-root-2/deep%2F');
    const cell = page.locator(`#objects tr[data-key="${longKey}"] td.name`);
    await cell.waitFor();
    // The key wraps inside its column: the page does not scroll sideways.
    const widths = await page.evaluate<{ doc: number; view: number }>('({ doc: document.documentElement.scrollWidth, view: window.innerWidth })');
    expect(widths.doc).toBeLessThanOrEqual(widths.view);

    // A report period closed now, and an audit round from the page: the cluster page shows both, the log verified in the browser.
    const admin = { endpoint: cluster.endpoint, region: 'us-east-1', accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY };
    await adminRequest(admin, 'POST', '/audit', {});
    await adminRequest(admin, 'POST', '/reports/publish', {});
    const scrubbed = await adminRequest<{ stats: { piecesChecked: number } }>(admin, 'POST', '/scrub', {});
    expect(scrubbed.stats.piecesChecked).toBeGreaterThan(0);
    await page.click('header nav a:has-text("Cluster")');
    await page.waitForSelector('table.nodes');
    await expect(page.locator('table.nodes tr[data-node]').count()).resolves.toBe(16);
    await expect(page.locator('#capacity').textContent()).resolves.toMatch(/Usable at 10\/16/);
    await expect(page.locator('table.nodes tr[data-node=ss00]').textContent()).resolves.toMatch(/pass, /);
    await page.locator('#reports', { hasText: 'every signature and the hash chain verify' }).waitFor();
    // The scrub pass run above is in the page's scrub history, with the pieces it checked.
    await expect(page.locator('#scrub tbody tr').first().locator('td').nth(1).textContent()).resolves.toMatch(/^[1-9][\d,]*$/);
    await expect(page.locator('#reports tbody tr').count()).resolves.toBeGreaterThanOrEqual(16);
    // An entry altered on the way (its payload re-encoded with another score) is caught by the signature.
    await page.route('**/_shardgate/reports?*', async (route) => {
      const res = await route.fetch();
      const body = await res.json() as { entries: Array<{ seq: number; jws: string }> };
      const e = body.entries[1]!;
      const [h, p, sig] = e.jws.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as { score: number };
      payload.score = 0.01;
      e.jws = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
      await route.fulfill({ response: res, json: body });
    });
    await page.click('#reports >> text=Check again');
    await page.locator('#reports', { hasText: 'does NOT verify: entry 2 (seq 2): signature does not verify' }).waitFor();
    await page.unroute('**/_shardgate/reports?*');

    await page.click('header nav a:has-text("Users")');
    await page.fill('#create-user input[name=user]', 'console-made');
    await page.click('#create-user button[type=submit]');
    await page.waitForSelector('#new-key');
    await expect(page.locator('#new-key').textContent()).resolves.toMatch(/shown this once/);
    await expect(page.locator('#users').textContent()).resolves.toContain('console-made');
    const made = page.locator('#users tr', { hasText: 'console-made' });
    await made.locator('text=Disable').click();
    await made.locator('text=Enable').waitFor();
    const listed = await adminRequest<{ keys: Array<{ status: string }> }>(admin, 'GET', '/keys?user=console-made');
    expect(listed.keys.map((k) => k.status)).toEqual(['disabled']);

    await page.click('header nav a:has-text("Activity")');
    await page.waitForSelector('text=The last hour');
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('ledger: balances, stores with their stake, the last eras and the public logs', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const admin = { endpoint: cluster.endpoint, region: 'us-east-1', accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY };
    // An era settles once it is over and its reports are published: publish until one has.
    let settled = -1;
    while (settled < 0) {
      await adminRequest(admin, 'POST', '/reports/publish', {});
      settled = (await adminRequest<{ settledEra: number }>(admin, 'GET', '/ledger')).settledEra;
      if (settled < 0) await new Promise((r) => setTimeout(r, 1_000));
    }
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.click('header nav a:has-text("Ledger")');
    await page.waitForSelector('#ledger-stores tr[data-store=ss00]');
    await expect(page.locator('#ledger-stores tr[data-store]').count()).resolves.toBe(16);
    await expect(page.locator('#ledger-stores tr[data-store=ss03]').textContent()).resolves.toMatch(/active.*25.*20.*dana/);
    // The last eras, newest first: the one settled before the page opened, or a later one.
    await expect(page.locator('#ledger-eras tr[data-era]').first().getAttribute('data-era').then(Number)).resolves.toBeGreaterThanOrEqual(settled);
    await expect(page.locator('#ledger-balances tr[data-account="delegator:dana"]').textContent()).resolves.toMatch(/5/);
    await expect(page.locator('a[href="/_shardgate/ledger"]').count()).resolves.toBe(1);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('versions: restore an old one; delete several at once; a bad policy is refused inline', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const bucket = 'console-root-3';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: 'second' }));
    for (const k of ['a & b.txt', 'c.txt', 'keep.txt']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);

    await page.goto(cluster.endpoint + CONSOLE + `#/object/${bucket}/doc.txt`);
    await page.waitForSelector('#versions table');
    await expect(page.locator('#versions tbody tr').count()).resolves.toBe(2);
    await page.locator('#versions tbody tr').nth(1).locator('text=Restore').click();
    // (waitForFunction would eval a string in the page, which the console's CSP forbids.)
    await expect.poll(() => page.locator('#versions tbody tr').count(), { timeout: 10_000 }).toBe(3);
    expect((await objectBytes(s3, bucket, 'doc.txt')).toString()).toBe('first');

    await page.goto(cluster.endpoint + CONSOLE + `#/b/${bucket}`);
    for (const k of ['a & b.txt', 'c.txt']) await page.locator(`#objects tr[data-key="${k}"] input[type=checkbox]`).check();
    page.once('dialog', (d) => void d.accept());
    await page.click('#delete-selected');
    await page.waitForSelector('#objects tr[data-key="a & b.txt"]', { state: 'detached' });
    const left = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((c) => c.Key);
    expect(left).toEqual(['doc.txt', 'keep.txt']);

    await page.goto(cluster.endpoint + CONSOLE + `#/settings/${bucket}`);
    await page.waitForSelector('#doc-policy textarea');
    // Not JSON: said where, before anything is sent.
    await page.fill('#doc-policy textarea', '{ "Version": "2012-10-17", ');
    await expect(page.locator('#doc-policy .error').first().textContent()).resolves.toMatch(/not valid JSON at line 1/);
    // JSON, but not a policy: the gateway's refusal, as a sentence.
    await page.fill('#doc-policy textarea', '{ "Version": "2012-10-17", "Statement": [{ "Effect": "Maybe" }] }');
    await page.click('#doc-policy button[type=submit]');
    await expect(page.locator('#doc-policy [role=alert]').textContent()).resolves.toMatch(/policy is not valid/);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('Object Lock: made with the bucket, a default retention set on its page, an upload through the page is locked', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const bucket = 'console-lock-1';
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.fill('#create-bucket input[name=bucket-name]', bucket);
    await page.check('#create-bucket input[name=object-lock]');
    await page.click('#create-bucket button[type=submit]');
    await page.waitForSelector('text=This folder is empty');
    await page.goto(cluster.endpoint + CONSOLE + `#/settings/${bucket}`);
    await page.locator('#versioning-state', { hasText: /^enabled$/ }).waitFor();
    await page.selectOption('#object-lock select', 'GOVERNANCE');
    await page.fill('#object-lock input[type=number]', '2');
    await page.click('#object-lock button[type=submit]');
    await expect.poll(async () => (await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration?.Rule?.DefaultRetention)
      .toEqual({ Mode: 'GOVERNANCE', Days: 2 });
    // A write under a default retention must carry a digest (the page sends x-amz-checksum-sha256).
    await page.goto(cluster.endpoint + CONSOLE + `#/b/${bucket}`);
    await page.setInputFiles('#file-input', { name: 'locked.txt', mimeType: 'text/plain', buffer: Buffer.from('keep me') });
    await page.locator('#uploads li[data-key="locked.txt"][data-state=done]').waitFor();
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'locked.txt' }));
    expect(retention.Retention?.Mode).toBe('GOVERNANCE');
    // Legal hold from the object's page.
    await page.goto(cluster.endpoint + CONSOLE + `#/object/${bucket}/locked.txt`);
    await page.click('text=Place legal hold');
    await page.locator('text=Release legal hold').waitFor();
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: 'locked.txt' }))).LegalHold?.Status).toBe('ON');
    // Suspending versioning is refused on a lock bucket: the refusal is a sentence on the page.
    await page.goto(cluster.endpoint + CONSOLE + `#/settings/${bucket}`);
    await page.click('text=Suspend versioning');
    await expect(page.locator('#versioning .error').textContent()).resolves.toMatch(/\w+.*\./);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('browsing: pages with a continuation token, search by prefix, a dropped file, a share link', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const bucket = 'console-root-5';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // 120 keys at 50 a page: two full pages and a last one of 20.
    const keys = Array.from({ length: 120 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
    await mapLimit(keys, 16, async (Key) => void await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key })));
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.goto(cluster.endpoint + CONSOLE + `#/b/${bucket}/many%2F`);
    const rows = page.locator('#objects tr[data-key]');
    await page.locator('#objects tr[data-key="many/k0119"]').waitFor();
    await expect(rows.count()).resolves.toBe(120);
    await page.selectOption('select[name=page-size]', '50');
    await page.locator('#objects tr[data-key="many/k0050"]').waitFor({ state: 'detached' });
    await expect(rows.count()).resolves.toBe(50);
    await page.click('.pager >> text=Next');
    await page.locator('#objects tr[data-key="many/k0050"]').waitFor();
    await expect(rows.count()).resolves.toBe(50);
    await page.click('.pager >> text=Next');
    await page.locator('#objects tr[data-key="many/k0119"]').waitFor();
    await expect(rows.count()).resolves.toBe(20);
    await expect(page.locator('.pager >> text=Next').isDisabled()).resolves.toBe(true);
    await page.click('.pager >> text=Previous');
    await page.locator('#objects tr[data-key="many/k0050"]').waitFor();

    await page.fill('input[name=search]', 'k003');
    await page.click('text=Search');
    await page.locator('#objects tr[data-key="many/k0030"]').waitFor();
    await expect(rows.count()).resolves.toBe(10);

    // A drop on the browser uploads into the folder shown.
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('.browser').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await page.locator('#uploads li[data-key="many/dropped.txt"][data-state=done]').waitFor();
    expect((await objectBytes(s3, bucket, 'many/dropped.txt')).toString()).toBe('dropped bytes');

    // A key with a `..` segment cannot be sent by a browser as it is: a sentence, not another object.
    // (`many/..` would be sent as the bucket itself.)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'many/..', Body: 'odd' }));
    await page.fill('input[name=search]', '.');
    await page.click('text=Search');
    const odd = page.locator('#objects tr[data-key="many/.."]');
    await odd.locator('button.download').click();
    await expect(page.locator('.browser [role=alert]').textContent()).resolves.toMatch(/cannot send as it is.*S3 client/);
    // Deleting it by selection works: DeleteObjects names keys in its body.
    await odd.locator('input[type=checkbox]').check();
    page.once('dialog', (d) => void d.accept());
    await page.click('#delete-selected');
    await odd.waitFor({ state: 'detached' });
    await expect(objectBytes(s3, bucket, 'many/k0000')).resolves.toEqual(Buffer.from('many/k0000'));

    // A share link works without credentials.
    await page.goto(cluster.endpoint + CONSOLE + `#/object/${bucket}/many%2Fk0007`);
    await page.click('text=Make link');
    const link = await page.inputValue('input.share');
    expect(link).toContain('X-Amz-Expires=3600');
    const shared = await fetch(link);
    expect(shared.status).toBe(200);
    // Objects share the console's origin: a browser runs what they hold as an origin of its own.
    expect(shared.headers.get('content-security-policy')).toBe('sandbox');
    await expect(shared.text()).resolves.toBe('many/k0007');
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('a multipart upload cut off by a reload resumes from the parts already sent', UPLOAD_TEST, async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const bucket = 'console-root-4';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // A file on disk keeps its modification time, which names the upload to resume.
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-console-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'resume.bin');
    const data = bytes(20 * 1024 * 1024, 'console-resume');
    writeFileSync(file, data);
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.goto(cluster.endpoint + CONSOLE + `#/b/${bucket}`);
    await page.waitForSelector('text=This folder is empty');
    // Part 2 never gets an answer: parts 1 and 3 arrive, and the upload cannot complete.
    await page.route(/partNumber=2&/, () => undefined);
    await page.setInputFiles('#file-input', file);
    let uploadId = '';
    await expect.poll(async () => {
      const stored = await page.evaluate<string>('JSON.stringify(Object.values({ ...localStorage }))');
      uploadId = (JSON.parse(stored) as string[]).map((r) => JSON.parse(r) as { uploadId: string })[0]?.uploadId ?? '';
      if (!uploadId) return [];
      const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'resume.bin', UploadId: uploadId }));
      return parts.Parts?.map((p) => p.PartNumber);
    }, { timeout: 120_000 }).toEqual([1, 3]);

    await page.unroute(/partNumber=2&/);
    // Leaving with an upload in progress asks first (beforeunload).
    page.once('dialog', (d) => void d.accept());
    await page.reload();
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.waitForSelector('text=was interrupted (resume.bin)');
    await page.setInputFiles('#file-input', file);
    await page.waitForSelector('#uploads li[data-state=done]', { timeout: 150_000 });
    const got = await objectBytes(s3, bucket, 'resume.bin');
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    // The same upload was completed, not a new one: nothing is left in progress.
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    await expect(page.evaluate<number>('localStorage.length')).resolves.toBe(0);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('a cancelled or given-up multipart upload is aborted on the gateway', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const bucket = 'console-root-6';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const o = await open();
    const { page } = o;
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.goto(cluster.endpoint + CONSOLE + `#/b/${bucket}`);
    await page.waitForSelector('text=This folder is empty');
    // No part gets an answer: the upload stays in progress until cancelled.
    await page.route(/partNumber=/, () => undefined);
    // From disk: a buffer would cross the DevTools protocol as base64 first.
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-console-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'cancel.bin'), bytes(17 * 1024 * 1024, 'cancel'));
    await page.setInputFiles('#file-input', join(dir, 'cancel.bin'));
    const uploads = async (): Promise<number> => (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
    await expect.poll(uploads, { timeout: 60_000 }).toBe(1);
    await page.locator('#uploads li[data-key="cancel.bin"] button', { hasText: 'Cancel' }).click();
    await page.locator('#uploads li[data-key="cancel.bin"][data-state=cancelled]').waitFor();
    await expect.poll(uploads, { timeout: 30_000 }).toBe(0);
    await expect(page.evaluate<number>('localStorage.length')).resolves.toBe(0);

    // Cut off by a reload instead, the upload can also be given up from the notice that offers to resume it.
    await page.setInputFiles('#file-input', join(dir, 'cancel.bin'));
    await expect.poll(uploads, { timeout: 60_000 }).toBe(1);
    page.once('dialog', (d) => void d.accept());
    await page.reload();
    await signIn(page, ACCESS_KEY, SECRET_KEY);
    await page.click('#abort-interrupted');
    await page.locator('#abort-interrupted').waitFor({ state: 'detached' });
    expect(await uploads()).toBe(0);
    await expect(page.evaluate<number>('localStorage.length')).resolves.toBe(0);
    await page.unroute(/partNumber=/);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });

  test('a non-root user: no root pages, only their own buckets', async (ctx) => {
    ctx.skip(!HAS_CHROMIUM, NO_CHROMIUM);
    const made = await runAdmin(cluster, ['user', 'create', 'console-alice', '--json']);
    expect(made.code, made.all).toBe(0);
    const key = JSON.parse(made.out) as { accessKeyId: string; secretAccessKey: string };
    await s3.send(new CreateBucketCommand({ Bucket: 'console-root-private' }));
    const alice = cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
    await alice.send(new CreateBucketCommand({ Bucket: 'console-alice-own' }));

    const o = await open();
    const { page } = o;
    await signIn(page, key.accessKeyId, key.secretAccessKey);
    await page.waitForSelector('#buckets');
    await expect(page.locator('#buckets tbody tr').allTextContents()).resolves.toEqual([expect.stringContaining('console-alice-own')]);
    await expect(page.locator('header nav a').allTextContents()).resolves.toEqual(['Buckets']);
    expect(await storedEverywhere(o)).not.toContain(key.secretAccessKey);

    // Typing a root page's address shows a sentence, not the page.
    await page.goto(cluster.endpoint + CONSOLE + '#/cluster');
    await page.reload();
    await signIn(page, key.accessKeyId, key.secretAccessKey);
    await expect(page.locator('main').textContent()).resolves.toMatch(/root credentials only/);
    // Another user's bucket: the browser shows S3's refusal as a sentence.
    await page.goto(cluster.endpoint + CONSOLE + '#/b/console-root-private');
    await expect(page.locator('main .error').textContent()).resolves.toMatch(/may not do this/);
    // What alice uploads lands in her bucket, through her keys.
    await page.goto(cluster.endpoint + CONSOLE + '#/b/console-alice-own');
    await page.waitForSelector('text=This folder is empty');
    await page.setInputFiles('#file-input', { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.waitForSelector('#objects tr[data-key="note.txt"]');
    expect((await alice.send(new ListObjectsV2Command({ Bucket: 'console-alice-own' }))).Contents?.map((c) => c.Key)).toEqual(['note.txt']);
    expect(o.problems).toEqual([]);
    await o.context.close();
  });
});
