/**
 * Backup tools and the rest of the S3 surface as real clients drive it: restic (init, backup,
 * check --read-data, restore), s3cmd (bucket and object commands, sync, info, multipart,
 * canned ACLs), rclone `--s3-versions` on a versioned bucket, aws-cli `s3api` for versioning
 * and Object Lock, and boto3 copy_object/delete_objects. Each client is a real process talking
 * to a real cluster; each test has its own bucket; a missing client skips its tests with the
 * package that provides it.
 */
import { CreateMultipartUploadCommand, HeadObjectCommand, PutBucketOwnershipControlsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec as execClient, onPath, run as runClient, treeDigest, writeTree } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { bytes, md5Hex } from '../helpers/s3.js';

const MiB = 1024 * 1024;

let cluster: Cluster;
let work: string;

const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 60_000) => execClient(cmd, args, env, { timeout, cwd: work });
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 60_000) => runClient(cmd, args, env, { timeout, cwd: work });

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  work = mkdtempSync(join(tmpdir(), 'shardgate-backup-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
});


const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The environment without AWS_CA_BUNDLE: Go clients refuse to start with a bundle they cannot use on plain HTTP. */
function baseEnv(): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env;
  return { ...inherited, HOME: work, AWS_EC2_METADATA_DISABLED: 'true' };
}

// ---------------------------------------------------------------------------------------
// restic

const HAS_RESTIC = onPath('restic');
const NO_RESTIC = 'restic is not installed (apt-get install -y --no-install-recommends restic)';

describe('restic', () => {
  test('init / backup / check --read-data / restore, twice, byte-identical', { timeout: 90_000 }, async (ctx) => {
    ctx.skip(!HAS_RESTIC, NO_RESTIC);
    const env = {
      ...baseEnv(),
      RESTIC_REPOSITORY: `s3:${cluster.endpoint}/bk-restic`, RESTIC_PASSWORD: 'correct horse battery staple',
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    };
    const restic = (args: string[]) => run('restic', args, env, 60_000);
    const src = join(work, 'restic-src');
    // A small tree of a few MiB: a 6 MiB file (more than one of restic's content-defined
    // chunks, which average 1 MiB), small and empty files, a key-hostile name, nesting.
    writeTree(src, {
      'big.bin': bytes(6 * MiB, 'restic-big'),
      'docs/readme.txt': 'restic over shardgate\n',
      'docs/a b & c+é.txt': bytes(70_000, 'restic-odd'),
      'deep/er/still/x.bin': bytes(1_500_000, 'restic-x'),
      'empty': '',
    });
    // restic creates the bucket itself (HeadBucket, then CreateBucket).
    expect(await restic(['init'])).toMatch(/created restic repository/);
    await restic(['backup', '--host', 'test', src]);
    // An incremental backup after a change: only new chunks go up, old packs are referenced.
    writeFileSync(join(src, 'docs/readme.txt'), 'restic over shardgate, second run\n');
    writeFileSync(join(src, 'new.bin'), bytes(300_000, 'restic-new'));
    await restic(['backup', '--host', 'test', src]);
    const snapshots = JSON.parse(await restic(['snapshots', '--json'])) as Array<{ paths: string[] }>;
    expect(snapshots).toHaveLength(2);
    // --read-data downloads every pack and checks every blob's hash.
    const check = await restic(['check', '--read-data']);
    expect(check).toMatch(/no errors were found/);
    const target = join(work, 'restic-restore');
    await restic(['restore', 'latest', '--target', target]);
    // restic restores a backup of an absolute path under that path inside the target.
    expect(treeDigest(join(target, src))).toEqual(treeDigest(src));
    // Retention as backup jobs run it: drop the older snapshot, repack, delete unused packs.
    await restic(['forget', '--keep-last', '1', '--prune']);
    expect(JSON.parse(await restic(['snapshots', '--json']))).toHaveLength(1);
    expect(await restic(['check'])).toMatch(/no errors were found/);
  });
});

// ---------------------------------------------------------------------------------------
// s3cmd

const HAS_S3CMD = onPath('s3cmd');
const NO_S3CMD = 's3cmd is not installed (apt-get install -y --no-install-recommends s3cmd)';

describe('s3cmd', () => {
  /** A configuration file as `s3cmd --configure` writes it, pointed at the gateway, path style. */
  function s3cmdConfig(): string {
    const host = new URL(cluster.endpoint).host;
    const file = join(work, 's3cfg');
    writeFileSync(file, [
      '[default]', `access_key = ${ACCESS_KEY}`, `secret_key = ${SECRET_KEY}`, `host_base = ${host}`, `host_bucket = ${host}`,
      'use_https = False', 'signature_v2 = False', 'bucket_location = us-east-1', 'progress_meter = False', '',
    ].join('\n'));
    return file;
  }
  const s3cmd = (args: string[]) => run('s3cmd', ['-c', s3cmdConfig(), ...args], baseEnv());
  const s3cmdFails = (args: string[]) => exec('s3cmd', ['-c', s3cmdConfig(), ...args], baseEnv());

  test('mb / put / get / ls / info / sync / del', async (ctx) => {
    ctx.skip(!HAS_S3CMD, NO_S3CMD);
    const b = 's3://bk-s3cmd';
    const src = join(work, 's3cmd-src');
    const files = { 'a.txt': 'alpha\n', 'sub/b.bin': bytes(250_000, 's3cmd-b'), 'with space.txt': 'spaced', 'plus+sign.txt': 'plus', 'empty.txt': '' };
    writeTree(src, files);
    await s3cmd(['mb', b]);
    expect(await s3cmd(['ls'])).toMatch(/ s3:\/\/bk-s3cmd$/m);
    await s3cmd(['put', join(src, 'a.txt'), `${b}/one.txt`]);
    const got = join(work, 's3cmd-one.txt');
    await s3cmd(['get', '--force', `${b}/one.txt`, got]);
    expect(readFileSync(got, 'utf8')).toBe('alpha\n');
    expect(await s3cmd(['ls', `${b}/`])).toMatch(/\s6\s+s3:\/\/bk-s3cmd\/one\.txt$/m);
    // info reads the object's headers and its ACL, and for a bucket its location, policy,
    // CORS and lifecycle (each answered, or "none" on the matching NoSuch* error).
    const info = await s3cmd(['info', `${b}/one.txt`]);
    expect(info).toMatch(new RegExp(`MD5 sum:\\s+${md5Hex('alpha\n')}`));
    expect(info).toMatch(/File size:\s+6/);
    const binfo = await s3cmd(['info', b]);
    expect(binfo).toMatch(/Location:\s+us-east-1/);
    // sync up, a second sync has nothing to do, sync back down.
    await s3cmd(['sync', `${src}/`, `${b}/tree/`]);
    const listing = await s3cmd(['ls', '--recursive', `${b}/tree/`]);
    for (const rel of Object.keys(files)) expect(listing, rel).toMatch(new RegExp(`s3://bk-s3cmd/tree/${escapeRe(rel)}$`, 'm'));
    expect(await s3cmd(['sync', '--dry-run', `${src}/`, `${b}/tree/`])).not.toMatch(/upload:/);
    const back = join(work, 's3cmd-back');
    mkdirSync(back);
    await s3cmd(['sync', `${b}/tree/`, `${back}/`]);
    expect(treeDigest(back)).toEqual(treeDigest(src));
    // del, then the bucket empties and goes.
    await s3cmd(['del', `${b}/one.txt`]);
    expect(await s3cmd(['ls', `${b}/`])).not.toContain('one.txt');
    await s3cmd(['del', '--recursive', '--force', `${b}/tree/`]);
    expect((await s3cmd(['ls', '--recursive', `${b}/`])).trim()).toBe('');
    await s3cmd(['rb', b]);
    expect(await s3cmd(['ls'])).not.toContain('bk-s3cmd');
    const gone = await s3cmdFails(['ls', `${b}/`]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NoSuchBucket');
  });

  test('multipart upload of a >15 MiB file with 5 MiB chunks; setacl --acl-public then anonymous GET', async (ctx) => {
    ctx.skip(!HAS_S3CMD, NO_S3CMD);
    const b = 's3://bk-s3cmd-mp';
    await s3cmd(['mb', b]);
    // New buckets have ACLs disabled, as on AWS: this one takes them, as setacl needs.
    await cluster.client().send(new PutBucketOwnershipControlsCommand({ Bucket: 'bk-s3cmd-mp', OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
    // 16 MiB + 1 byte over 5 MiB chunks: four parts, the last one a byte over 1 MiB.
    const size = 16 * MiB + 1;
    const data = bytes(size, 's3cmd-mp');
    const file = join(work, 's3cmd-mp.bin');
    writeFileSync(file, data);
    await s3cmd(['put', '--multipart-chunk-size-mb=5', file, `${b}/big.bin`]);
    const info = await s3cmd(['info', `${b}/big.bin`]);
    expect(info).toMatch(new RegExp(`File size:\\s+${size}`));
    // s3cmd shows the MD5 it keeps in its own metadata; the ETag says four parts went up.
    expect(info).toMatch(new RegExp(`MD5 sum:\\s+${md5Hex(data)}`));
    const head = await cluster.client().send(new HeadObjectCommand({ Bucket: 'bk-s3cmd-mp', Key: 'big.bin' }));
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-4"$/);
    const back = join(work, 's3cmd-mp.out');
    await s3cmd(['get', '--force', `${b}/big.bin`, back]);
    expect(readFileSync(back).equals(data)).toBe(true);
    rmSync(back);
    rmSync(file);

    await s3cmd(['put', join(work, 's3cfg'), `${b}/cfg.txt`]);
    const anon = (key: string) => fetch(`${cluster.endpoint}/bk-s3cmd-mp/${key}`);
    expect((await anon('big.bin')).status).toBe(403);
    // setacl reads the object's AccessControlPolicy, adds AllUsers READ and puts it back.
    await s3cmd(['setacl', '--acl-public', `${b}/big.bin`]);
    expect(await s3cmd(['info', `${b}/big.bin`])).toMatch(/ACL:\s+\*anon\*: READ/);
    const res = await anon('big.bin');
    expect(res.status).toBe(200);
    expect(md5Hex(Buffer.from(await res.arrayBuffer()))).toBe(md5Hex(data));
    // Only that object: its neighbour and the bucket listing stay private.
    expect((await anon('cfg.txt')).status).toBe(403);
    expect((await fetch(`${cluster.endpoint}/bk-s3cmd-mp/`)).status).toBe(403);
    await s3cmd(['setacl', '--acl-private', `${b}/big.bin`]);
    expect((await anon('big.bin')).status).toBe(403);
  });

  test('cp / mv / modify (server-side copies), du, multipart list / abortmp', async (ctx) => {
    ctx.skip(!HAS_S3CMD, NO_S3CMD);
    const b = 's3://bk-s3cmd-copy';
    await s3cmd(['mb', b]);
    const file = join(work, 's3cmd-copy.txt');
    writeFileSync(file, 'copy source\n');
    await s3cmd(['put', '--mime-type=text/x-source', file, `${b}/src.txt`]);
    // cp and mv are CopyObject (mv then deletes the source).
    await s3cmd(['cp', `${b}/src.txt`, `${b}/copied.txt`]);
    await s3cmd(['mv', `${b}/copied.txt`, `${b}/moved/here.txt`]);
    const names = (await s3cmd(['ls', '--recursive', `${b}/`])).split('\n').filter(Boolean).map((l) => l.split(/\s+/).pop());
    expect(names).toEqual([`${b}/moved/here.txt`, `${b}/src.txt`]);
    const moved = join(work, 's3cmd-moved.txt');
    await s3cmd(['get', '--force', `${b}/moved/here.txt`, moved]);
    expect(readFileSync(moved, 'utf8')).toBe('copy source\n');
    // modify is a copy of the object onto itself with the metadata replaced.
    await s3cmd(['modify', '--mime-type=text/x-modified', '--add-header=Cache-Control:max-age=60', `${b}/src.txt`]);
    const head = await cluster.client().send(new HeadObjectCommand({ Bucket: 'bk-s3cmd-copy', Key: 'src.txt' }));
    expect(head).toMatchObject({ ContentType: 'text/x-modified', CacheControl: 'max-age=60', ContentLength: 12 });
    expect(await s3cmd(['du', b])).toMatch(/^\s*24\s+2 objects\s+s3:\/\/bk-s3cmd-copy\/?$/m);
    // An interrupted upload shows in `multipart` (ListMultipartUploads) until abortmp.
    const started = await cluster.client().send(new CreateMultipartUploadCommand({ Bucket: 'bk-s3cmd-copy', Key: 'half/done.bin' }));
    const id = started.UploadId!;
    expect(await s3cmd(['multipart', b])).toContain(`${b}/half/done.bin\t${id}`);
    await s3cmd(['abortmp', `${b}/half/done.bin`, id]);
    expect(await s3cmd(['multipart', b])).not.toContain(id);
  });
});

// ---------------------------------------------------------------------------------------
// rclone --s3-versions

const HAS_RCLONE = onPath('rclone');
const NO_RCLONE = 'rclone is not installed (apt-get install -y --no-install-recommends rclone)';

describe('rclone', () => {
  function rcloneEnv(): NodeJS.ProcessEnv {
    return {
      ...baseEnv(),
      RCLONE_CONFIG: join(work, 'rclone-none.conf'),
      RCLONE_CONFIG_SG_TYPE: 's3', RCLONE_CONFIG_SG_PROVIDER: 'Other', RCLONE_CONFIG_SG_ENDPOINT: cluster.endpoint,
      RCLONE_CONFIG_SG_ACCESS_KEY_ID: ACCESS_KEY, RCLONE_CONFIG_SG_SECRET_ACCESS_KEY: SECRET_KEY, RCLONE_CONFIG_SG_FORCE_PATH_STYLE: 'true',
    };
  }
  const rclone = (args: string[]) => run('rclone', args, rcloneEnv());

  test('--s3-versions lists and reads the old versions left by overwrites', async (ctx) => {
    ctx.skip(!HAS_RCLONE, NO_RCLONE);
    const b = 'bk-rclone-versions';
    await rclone(['mkdir', `sg:${b}`]);
    await cluster.client().send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    const src = join(work, 'rclone-v.txt');
    const contents = ['first version', 'second, longer version', 'third'];
    for (const c of contents) {
      writeFileSync(src, c);
      await rclone(['copyto', src, `sg:${b}/doc.txt`]);
    }
    await rclone(['copyto', src, `sg:${b}/other.txt`]);
    // Without the flag only current versions show.
    expect(await rclone(['lsf', `sg:${b}`])).toBe('doc.txt\nother.txt\n');
    // With it, each old version appears as name-vYYYY-MM-DD-HHMMSS-mmm.ext.
    const all = (await rclone(['lsf', '--s3-versions', '--format', 'ps', '--separator', '|', `sg:${b}`])).split('\n').filter(Boolean).sort();
    expect(all).toHaveLength(4);
    expect(all).toContain(`doc.txt|${contents[2]!.length}`);
    expect(all).toContain(`other.txt|${contents[2]!.length}`);
    const old = all.filter((l) => /^doc-v\d{4}-\d\d-\d\d-\d{6}-\d{3}\.txt\|/.test(l));
    expect(old.map((l) => Number(l.split('|')[1])).sort()).toEqual([contents[0]!.length, contents[1]!.length].sort());
    // An old version reads back by its versioned name.
    for (const l of old) {
      const [name, size] = l.split('|') as [string, string];
      expect(await rclone(['cat', '--s3-versions', `sg:${b}/${name}`])).toBe(contents.find((c) => c.length === Number(size)));
    }
    // Deleting the current version leaves a delete marker: the old versions are still listed.
    await rclone(['deletefile', `sg:${b}/doc.txt`]);
    expect(await rclone(['lsf', `sg:${b}`])).toBe('other.txt\n');
    const afterDelete = (await rclone(['lsf', '--s3-versions', `sg:${b}`])).split('\n').filter(Boolean);
    expect(afterDelete.filter((n) => n.startsWith('doc-v'))).toHaveLength(3);
  });
});

// ---------------------------------------------------------------------------------------
// aws-cli s3api: versioning and Object Lock

const HAS_AWS = onPath('aws');
const NO_AWS = 'aws-cli is not installed (pip install awscli)';

describe('aws-cli s3api', () => {
  function awsEnv(): NodeJS.ProcessEnv {
    const config = join(work, 'aws-config');
    writeFileSync(config, '[default]\nregion = us-east-1\n');
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
    };
  }
  const api = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
    const out = await run('aws', ['--endpoint-url', cluster.endpoint, 's3api', ...args], awsEnv());
    return (out.trim() ? JSON.parse(out) : {}) as T;
  };
  const apiFails = (args: string[]) => exec('aws', ['--endpoint-url', cluster.endpoint, 's3api', ...args], awsEnv());

  test('put-bucket-versioning / list-object-versions / get-object --version-id / delete markers', async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    const b = 'bk-aws-versions';
    await api(['create-bucket', '--bucket', b]);
    await api(['put-bucket-versioning', '--bucket', b, '--versioning-configuration', 'Status=Enabled']);
    expect(await api(['get-bucket-versioning', '--bucket', b])).toEqual({ Status: 'Enabled' });
    const ids: string[] = [];
    for (const body of ['v1', 'v2 longer']) {
      const f = join(work, 'aws-v.txt');
      writeFileSync(f, body);
      ids.push((await api<{ VersionId: string }>(['put-object', '--bucket', b, '--key', 'k', '--body', f])).VersionId);
    }
    expect(new Set(ids).size).toBe(2);
    const out = join(work, 'aws-v.out');
    const first = await api(['get-object', '--bucket', b, '--key', 'k', '--version-id', ids[0]!, out]);
    expect(first).toMatchObject({ VersionId: ids[0], ContentLength: 2 });
    expect(readFileSync(out, 'utf8')).toBe('v1');
    const del = await api(['delete-object', '--bucket', b, '--key', 'k']);
    expect(del).toMatchObject({ DeleteMarker: true });
    const listed = await api<{ Versions: Array<{ VersionId: string; IsLatest: boolean; Size: number }>; DeleteMarkers: Array<{ VersionId: string; IsLatest: boolean }> }>(
      ['list-object-versions', '--bucket', b]);
    expect(listed.Versions.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([[ids[1], false, 9], [ids[0], false, 2]]);
    expect(listed.DeleteMarkers).toEqual([expect.objectContaining({ IsLatest: true, VersionId: del.VersionId })]);
    const head = await apiFails(['head-object', '--bucket', b, '--key', 'k']);
    expect(head.stderr).toMatch(/404|Not Found/);
    // Removing the delete marker by id brings the newest version back.
    await api(['delete-object', '--bucket', b, '--key', 'k', '--version-id', String(del.VersionId)]);
    expect(await api(['head-object', '--bucket', b, '--key', 'k'])).toMatchObject({ VersionId: ids[1], ContentLength: 9 });
  });

  test('Object Lock: COMPLIANCE retention refuses deletes and shortening, for root too; legal hold blocks deletes', async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    const b = 'bk-aws-lock';
    await api(['create-bucket', '--bucket', b, '--object-lock-enabled-for-bucket']);
    expect(await api(['get-object-lock-configuration', '--bucket', b])).toMatchObject({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } });
    const f = join(work, 'aws-lock.txt');
    writeFileSync(f, 'immutable backup');
    const { VersionId: v } = await api<{ VersionId: string }>(['put-object', '--bucket', b, '--key', 'backup.vbk', '--body', f]);
    const until = new Date(Date.now() + 24 * 3600_000);
    until.setUTCMilliseconds(0);
    await api(['put-object-retention', '--bucket', b, '--key', 'backup.vbk', '--version-id', v,
      '--retention', JSON.stringify({ Mode: 'COMPLIANCE', RetainUntilDate: until.toISOString() })]);
    const ret = await api<{ Retention: { Mode: string; RetainUntilDate: string } }>(['get-object-retention', '--bucket', b, '--key', 'backup.vbk', '--version-id', v]);
    expect(ret.Retention.Mode).toBe('COMPLIANCE');
    expect(new Date(ret.Retention.RetainUntilDate).getTime()).toBe(until.getTime());
    // Root, even asking to bypass governance, cannot delete the version.
    for (const extra of [[], ['--bypass-governance-retention']]) {
      const r = await apiFails(['delete-object', '--bucket', b, '--key', 'backup.vbk', '--version-id', v, ...extra]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toContain('AccessDenied');
    }
    const shorter = await apiFails(['put-object-retention', '--bucket', b, '--key', 'backup.vbk', '--version-id', v, '--bypass-governance-retention',
      '--retention', JSON.stringify({ Mode: 'COMPLIANCE', RetainUntilDate: new Date(until.getTime() - 3600_000).toISOString() })]);
    expect(shorter.code).not.toBe(0);
    expect(shorter.stderr).toContain('AccessDenied');
    // A plain delete only adds a delete marker; the locked version stays readable by id.
    expect(await api(['delete-object', '--bucket', b, '--key', 'backup.vbk'])).toMatchObject({ DeleteMarker: true });
    const out = join(work, 'aws-lock.out');
    await api(['get-object', '--bucket', b, '--key', 'backup.vbk', '--version-id', v, out]);
    expect(readFileSync(out, 'utf8')).toBe('immutable backup');
    const versions = await api<{ Versions: Array<{ VersionId: string }> }>(['list-object-versions', '--bucket', b, '--prefix', 'backup']);
    expect(versions.Versions.map((x) => x.VersionId)).toEqual([v]);
    // A legal hold blocks the delete until it is lifted, whatever the retention.
    const { VersionId: held } = await api<{ VersionId: string }>(['put-object', '--bucket', b, '--key', 'held.txt', '--body', f]);
    await api(['put-object-legal-hold', '--bucket', b, '--key', 'held.txt', '--version-id', held, '--legal-hold', 'Status=ON']);
    expect(await api(['get-object-legal-hold', '--bucket', b, '--key', 'held.txt', '--version-id', held])).toEqual({ LegalHold: { Status: 'ON' } });
    const refused = await apiFails(['delete-object', '--bucket', b, '--key', 'held.txt', '--version-id', held, '--bypass-governance-retention']);
    expect(refused.stderr).toContain('AccessDenied');
    await api(['put-object-legal-hold', '--bucket', b, '--key', 'held.txt', '--version-id', held, '--legal-hold', 'Status=OFF']);
    await api(['delete-object', '--bucket', b, '--key', 'held.txt', '--version-id', held]);
    expect((await apiFails(['head-object', '--bucket', b, '--key', 'held.txt', '--version-id', held])).stderr).toMatch(/404|Not Found/);
  });
});

// ---------------------------------------------------------------------------------------
// boto3 copy_object / delete_objects

const BOTO3_SCRIPT = String.raw`
import json, os
import boto3
from botocore.exceptions import ClientError

s3 = boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                  aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'])
out = {}
b = 'bk-boto3-copy'
s3.create_bucket(Bucket=b)
s3.put_object(Bucket=b, Key='src.txt', Body=b'copy me', ContentType='text/plain', Metadata={'a': '1'})
c = s3.copy_object(Bucket=b, Key='dst/copy.txt', CopySource={'Bucket': b, 'Key': 'src.txt'})
out['copy_etag'] = c['CopyObjectResult']['ETag']
h = s3.head_object(Bucket=b, Key='dst/copy.txt')
out['copy_meta'] = [h['ContentType'], h['Metadata'], h['ContentLength']]
s3.copy_object(Bucket=b, Key='dst/replaced.txt', CopySource={'Bucket': b, 'Key': 'src.txt'},
               MetadataDirective='REPLACE', ContentType='application/x-new', Metadata={'b': '2'})
h = s3.head_object(Bucket=b, Key='dst/replaced.txt')
out['replace_meta'] = [h['ContentType'], h['Metadata']]
# Copy onto itself is only allowed when something changes: with REPLACE it rewrites metadata.
try:
    s3.copy_object(Bucket=b, Key='src.txt', CopySource={'Bucket': b, 'Key': 'src.txt'})
except ClientError as e:
    out['self_copy'] = e.response['Error']['Code']
s3.copy_object(Bucket=b, Key='src.txt', CopySource={'Bucket': b, 'Key': 'src.txt'}, MetadataDirective='REPLACE', Metadata={'c': '3'})
out['self_meta'] = s3.head_object(Bucket=b, Key='src.txt')['Metadata']
out['self_body'] = s3.get_object(Bucket=b, Key='src.txt')['Body'].read().decode()
try:
    s3.copy_object(Bucket=b, Key='x', CopySource={'Bucket': b, 'Key': 'src.txt'}, CopySourceIfMatch='"0000"')
except ClientError as e:
    out['copy_if_match'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
for i in range(5):
    s3.put_object(Bucket=b, Key='del/%d' % i, Body=b'x')
r = s3.delete_objects(Bucket=b, Delete={'Objects': [{'Key': 'del/%d' % i} for i in range(5)] + [{'Key': 'never-existed'}]})
out['deleted'] = sorted(d['Key'] for d in r.get('Deleted', []))
out['errors'] = r.get('Errors', [])
r = s3.delete_objects(Bucket=b, Delete={'Objects': [{'Key': 'dst/copy.txt'}, {'Key': 'dst/replaced.txt'}], 'Quiet': True})
out['quiet'] = [r.get('Deleted', []), r.get('Errors', [])]
out['left'] = [o['Key'] for o in s3.list_objects_v2(Bucket=b).get('Contents', [])]
print(json.dumps(out))
`;

describe('boto3', () => {
  test('copy_object (COPY, REPLACE, onto itself, conditional) and delete_objects (verbose and quiet)', async (ctx) => {
    if (!onPath('python3')) return ctx.skip('python3 is not installed');
    const env = {
      ...process.env, SG_ENDPOINT: cluster.endpoint, SG_ACCESS_KEY: ACCESS_KEY, SG_SECRET_KEY: SECRET_KEY,
      AWS_CONFIG_FILE: join(work, 'boto-no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'boto-no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    if ((await exec('python3', ['-c', 'import boto3'], env)).code !== 0) return ctx.skip('boto3 is not installed for python3');
    const script = join(work, 'boto3-copy.py');
    writeFileSync(script, BOTO3_SCRIPT);
    const out = JSON.parse(await run('python3', [script], env)) as Record<string, unknown>;
    expect(out).toEqual({
      copy_etag: `"${md5Hex('copy me')}"`,
      copy_meta: ['text/plain', { a: '1' }, 7],
      replace_meta: ['application/x-new', { b: '2' }],
      self_copy: 'InvalidRequest',
      self_meta: { c: '3' },
      self_body: 'copy me',
      copy_if_match: ['PreconditionFailed', 412],
      // As AWS S3 does, deleting a key that does not exist reports it deleted.
      deleted: ['del/0', 'del/1', 'del/2', 'del/3', 'del/4', 'never-existed'],
      errors: [],
      quiet: [[], []],
      left: ['src.txt'],
    });
  });
});
