import aws4 from 'aws4';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AccessKeyView, NewAccessKey, UserView } from '../gateway/admin/keys.js';
import type { BucketQuotaView } from '../gateway/admin/buckets.js';
import type { NodeView } from '../gateway/admin/nodes.js';
import type { ClusterView } from '../gateway/admin/cluster.js';
import type { RepairJobView } from '../gateway/admin/repair.js';
import type { Backlog } from '../gateway/repair/worker.js';
import type { NodeAuditView } from '../gateway/audit/admin-routes.js';
import type { NodeAuditResult } from '../gateway/audit/auditor.js';
import { AUDIT_OUTCOMES } from '../gateway/meta/audit-store.js';
import { parseShardStores } from '../gateway/config.js';
import { fetchReportLog } from '../gateway/reports/http.js';
import { verifyReportLog } from '../gateway/reports/verify.js';
import { loadMasterKey } from '../gateway/secrets.js';
import { sizeInBytes } from '../wire/size.js';
import { runLedger } from './admin-ledger.js';

const ADMIN_PREFIX = '/_shardgate/admin/v1';

const HELP = `shardgate admin — manage a running gateway

Commands:
  shardgate admin nodes [--json]          shard-stores: state, zone, free space, score, pieces held, last audit
  shardgate admin repair [--wait] [--json]
                                          start a full repair (every blob back to 16 healthy pieces on
                                          live nodes within the zone limit); --wait prints progress and
                                          exits 0 once done, 1 if it cannot be reached
  shardgate admin cluster [--json]        the gateways' leases: which one runs the background work
                                          (repair, audits, scrub, lifecycle, ...) and until when
  shardgate admin drain ID [--wait]       move every piece off a shard-store, then mark it removed
  shardgate admin activate ID             cancel a drain, or bring a removed shard-store back
  shardgate admin join ID URL             add a shard-store (its zone and capacity come from its /status)
  shardgate admin audit [--node ID] [--json]
                                          challenge every shard-store (or one) now and show each one's
                                          outcome, score and state; exits 1 if any failed
  shardgate admin snapshot                take a metadata snapshot onto the shard-stores now
  shardgate admin scrub                   check every stored piece against its checksums and root now;
                                          damaged and missing ones are queued for repair
  shardgate admin verify-reports URL [--json]
                                          fetch the public report log (URL: the gateway or its
                                          /_shardgate/reports) and check every signature and the chain
                                          offline; exits 1 on a tampered, missing or reordered entry
  shardgate admin ledger ...              the provider economy: balances, accounts, eras, deposits,
                                          delegations, Passports, parameters, and \`ledger verify URL\`
                                          (shardgate admin ledger --help)
  shardgate admin user create USER        a new user with its first access key (the secret is shown once)
  shardgate admin user list [--json]      users with their key and bucket counts
  shardgate admin user disable|enable USER
                                          refuse (InvalidAccessKeyId) or accept again every key of USER
  shardgate admin user delete USER        delete every key of USER (its buckets stay, owned by USER)
  shardgate admin key create USER         one more access key for USER (the secret is shown once)
  shardgate admin key list [--user USER] [--json]
  shardgate admin key disable|enable ID   refuse or accept one access key again
  shardgate admin key delete ID           delete one access key for good
  shardgate admin bucket quota BUCKET [SIZE|none] [--json]
                                          show a bucket's quota and the bytes it holds, or set a hard
                                          quota (500G, 1.5T, binary units) or remove it (none); writes
                                          past it are refused with 403 QuotaExceeded
  shardgate admin recover [--data DIR] [--force]
                                          with the gateway stopped: rebuild its data folder (metadata,
                                          signing key) from the last snapshot on the shard-stores; needs
                                          SHARDGATE_SHARD_STORES and the master key (SHARDGATE_MASTER_KEY
                                          or SHARDGATE_MASTER_KEY_FILE); shows what each store offers and
                                          refuses (exit 1) when too few offer the newest snapshot or some
                                          hold it back, as stores rolling the metadata back would; --force
                                          restores the newest anyway (and moves an existing meta.db aside);
                                          lists writes after the snapshot

Connection (same variables as the gateway):
  SHARDGATE_ENDPOINT      the gateway URL (default http://127.0.0.1:$SHARDGATE_PORT, port 9000)
  SHARDGATE_ROOT_USER / SHARDGATE_ROOT_PASSWORD
                          root credentials; when unset, read from
                          $SHARDGATE_DATA_DIR/gateway/root-credentials.json or $SHARDGATE_DATA_DIR/root-credentials.json
                          (SHARDGATE_DATA_DIR defaults to ./data)
  SHARDGATE_REGION        region to sign for (default us-east-1)`;

/** A failure the user can act on: printed as one line, exit code as given. */
export class AdminCliError extends Error {
  code = 'ERR_ADMIN_CLI';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'AdminCliError';
  }
}

export interface AdminTarget {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** Where the gateway is and how to sign for it, from the gateway's own environment variables. */
export function adminTarget(env: NodeJS.ProcessEnv): AdminTarget {
  const endpoint = (env.SHARDGATE_ENDPOINT || `http://127.0.0.1:${env.SHARDGATE_PORT || '9000'}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(endpoint)) throw new AdminCliError(`SHARDGATE_ENDPOINT must be http(s)://host:port, got "${endpoint}"`, 2);
  const region = env.SHARDGATE_REGION || 'us-east-1';
  if (env.SHARDGATE_ROOT_USER || env.SHARDGATE_ROOT_PASSWORD) {
    if (!env.SHARDGATE_ROOT_USER || !env.SHARDGATE_ROOT_PASSWORD) throw new AdminCliError('set both SHARDGATE_ROOT_USER and SHARDGATE_ROOT_PASSWORD, or neither', 2);
    return { endpoint, region, accessKeyId: env.SHARDGATE_ROOT_USER, secretAccessKey: env.SHARDGATE_ROOT_PASSWORD };
  }
  const dataDir = resolve(env.SHARDGATE_DATA_DIR || './data');
  const files = [join(dataDir, 'gateway', 'root-credentials.json'), join(dataDir, 'root-credentials.json')];
  const file = files.find((f) => existsSync(f));
  if (!file) {
    throw new AdminCliError(`no admin credentials: set SHARDGATE_ROOT_USER and SHARDGATE_ROOT_PASSWORD, or SHARDGATE_DATA_DIR to the gateway's data folder (looked for ${files.join(' and ')})`, 2);
  }
  let creds: { accessKeyId?: unknown; secretAccessKey?: unknown };
  try {
    creds = JSON.parse(readFileSync(file, 'utf8')) as typeof creds;
  } catch (err) {
    throw new AdminCliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
  if (typeof creds.accessKeyId !== 'string' || typeof creds.secretAccessKey !== 'string') throw new AdminCliError(`${file} has no accessKeyId/secretAccessKey`, 2);
  return { endpoint, region, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
}

/** One SigV4-signed JSON request to the admin API. */
export async function adminRequest<T>(t: AdminTarget, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const url = new URL(ADMIN_PREFIX + path, t.endpoint);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const req: aws4.Request = {
    host: url.host, path: url.pathname + url.search, method, service: 's3', region: t.region,
    headers: text === undefined ? {} : { 'content-type': 'application/json' }, body: text,
  };
  aws4.sign(req, { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey });
  // fetch derives these two from the URL and the body, with the same values that were signed.
  const headers = { ...(req.headers as Record<string, string>) };
  delete headers.Host;
  delete headers['Content-Length'];
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: text, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new AdminCliError(`cannot reach the gateway at ${t.endpoint} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}): is it running? Set SHARDGATE_ENDPOINT or SHARDGATE_PORT to its address`);
  }
  const answer = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(answer);
  } catch {
    throw new AdminCliError(`${t.endpoint} answered HTTP ${res.status} without JSON: is SHARDGATE_ENDPOINT a shardgate gateway?`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    if (res.status === 401 || res.status === 403) {
      throw new AdminCliError(`the gateway refused the credentials (${e?.message ?? res.status}): set SHARDGATE_ROOT_USER/SHARDGATE_ROOT_PASSWORD to its root credentials`);
    }
    throw new AdminCliError(`${e?.code ?? `HTTP ${res.status}`}: ${e?.message ?? answer}`);
  }
  return json as T;
}

export async function runAdmin(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  // The ledger's subcommands take flags of their own (cli/admin-ledger.ts).
  if (argv[0] === 'ledger') return runLedger(argv.slice(1), env);
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      json: { type: 'boolean' }, wait: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      node: { type: 'string' }, data: { type: 'string' }, force: { type: 'boolean' }, user: { type: 'string' },
    },
  });
  const [cmd, ...args] = positionals;
  if (values.help || cmd === undefined || cmd === 'help') return void console.log(HELP);
  // These two never talk to a running gateway's admin API.
  if (cmd === 'verify-reports') return verifyReports(args[0], Boolean(values.json));
  if (cmd === 'recover') return recover(env, values.data, Boolean(values.force), Boolean(values.json));
  const t = adminTarget(env);
  switch (cmd) {
    case 'audit': return audit(t, values.node, Boolean(values.json));
    case 'scrub': {
      console.log('scrubbing every stored piece…');
      const { stats } = await adminRequest<{ stats: { piecesChecked: number; piecesBad: number; bytesRead: number } }>(t, 'POST', '/scrub', {});
      return void console.log(`checked ${stats.piecesChecked} pieces (${bytes(stats.bytesRead)} read) since the gateway started; ${stats.piecesBad} damaged or missing, queued for repair`);
    }
    case 'snapshot': {
      const { snapshot } = await adminRequest<{ snapshot: { seq: number; size: number; manifests: number; ms: number } }>(t, 'POST', '/snapshot', {});
      return void console.log(`snapshot ${snapshot.seq}: ${bytes(snapshot.size)} of metadata on the shard-stores, manifest on ${snapshot.manifests} stores (${snapshot.ms} ms)`);
    }
    case 'nodes': return listNodes(t, Boolean(values.json));
    case 'cluster': return showCluster(t, Boolean(values.json));
    case 'user': return userCommand(t, args, Boolean(values.json));
    case 'key': return keyCommand(t, args, values.user, Boolean(values.json));
    case 'bucket': return bucketCommand(t, args, Boolean(values.json));
    case 'repair': return repair(t, Boolean(values.wait), Boolean(values.json));
    case 'drain': return setState(t, needId(args, 'drain'), 'draining', Boolean(values.wait));
    case 'activate': return setState(t, needId(args, 'activate'), 'active', false);
    case 'join': {
      const [id, url] = args;
      if (!id || !url) throw new AdminCliError('usage: shardgate admin join ID URL (e.g. ss16 http://10.0.0.30:7000)', 2);
      const { node } = await adminRequest<{ node: NodeView }>(t, 'POST', '/nodes', { id, url });
      return void console.log(`${node.id} joined: zone ${node.zone}, ${node.state}`);
    }
    default:
      throw new AdminCliError(`unknown admin command "${cmd}"\n\n${HELP}`, 2);
  }
}

async function audit(t: AdminTarget, node: string | undefined, json: boolean): Promise<void> {
  if (!json) console.log(node ? `auditing ${node}…` : 'auditing every shard-store…');
  const { results } = await adminRequest<{ results: NodeAuditResult[] }>(t, 'POST', '/audit', node ? { node } : {});
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    const rows = results.map((r) => [
      r.nodeId, r.zone, r.challenged === 0 && r.passed ? 'nothing to audit' : r.passed ? 'pass' : 'FAIL',
      [...AUDIT_OUTCOMES.filter((o) => r.outcomes[o]).map((o) => `${o}=${r.outcomes[o]}`), ...(r.servedWrong ? [`served-wrong=${r.servedWrong}`] : [])].join(' ') || '-',
      `${r.scoreBefore.toFixed(2)}→${r.score.toFixed(2)}`, r.state === r.stateBefore ? r.state : `${r.stateBefore}→${r.state}`, r.detail ?? '',
    ]);
    console.log(table(['ID', 'ZONE', 'RESULT', 'CHALLENGES', 'SCORE', 'STATE', 'FIRST FAILURE'], rows));
  }
  const failed = results.filter((r) => !r.passed);
  if (failed.length) throw new AdminCliError(`${failed.length} shard-store(s) failed the audit: ${failed.map((r) => r.nodeId).join(', ')}`);
}

async function verifyReports(url: string | undefined, json: boolean): Promise<void> {
  if (!url) throw new AdminCliError('usage: shardgate admin verify-reports URL (the gateway, e.g. http://127.0.0.1:9000, or its /_shardgate/reports)', 2);
  let log;
  try {
    log = await fetchReportLog(url);
  } catch (err) {
    throw new AdminCliError(`cannot fetch the report log from ${url}: ${(err as Error).message}`);
  }
  const v = await verifyReportLog(log.entries, log.jwk);
  if (json) console.log(JSON.stringify({ ok: v.ok, entries: log.entries.length, errors: v.errors, reports: v.reports }, null, 2));
  else {
    console.log(`${log.entries.length} entries from ${log.logUrl}, key ${log.keyUrl} (kid ${log.jwk.kid ?? '-'})`);
    const failing = v.reports.filter((r) => r.audits.wrong + r.audits.missing + r.audits.timeout + r.audits.error > 0 || r.uptime.ratio < 1);
    for (const r of failing) {
      console.log(`  #${r.seq} ${r.node} ${new Date(r.periodStart).toISOString()}…${new Date(r.periodEnd).toISOString()}: ` +
        `audits pass=${r.audits.pass} wrong=${r.audits.wrong} missing=${r.audits.missing} timeout=${r.audits.timeout} error=${r.audits.error}, ` +
        `uptime ${(r.uptime.ratio * 100).toFixed(1)}%, score ${r.score}, ${r.state}`);
    }
  }
  if (!v.ok) {
    for (const e of v.errors) console.error(`  ${e}`);
    throw new AdminCliError(`the report log does NOT verify: ${v.errors.length} problem(s); do not trust it`);
  }
  if (!json) console.log(`report log verifies: ${v.reports.length} signed entries, chain intact, in order`);
}

async function recover(env: NodeJS.ProcessEnv, dataFlag: string | undefined, force: boolean, json: boolean): Promise<void> {
  const dataDir = resolve(dataFlag ?? env.SHARDGATE_DATA_DIR ?? './data');
  const stores = parseShardStores(env.SHARDGATE_SHARD_STORES);
  if (!env.SHARDGATE_MASTER_KEY && !env.SHARDGATE_MASTER_KEY_FILE) {
    throw new AdminCliError('recover needs the master key: set SHARDGATE_MASTER_KEY or SHARDGATE_MASTER_KEY_FILE (the backup you kept)', 2);
  }
  const master = loadMasterKey(dataDir, env);
  // Loaded here only: recovery pulls in the whole metadata layer, which no other admin command needs.
  const { recoverGateway } = await import('../gateway/snapshot/recover.js');
  const report = await recoverGateway({ dataDir, stores, masterKey: master.key, force, log: json ? undefined : (l) => console.log(l) })
    .catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ERR_RECOVERY') throw new AdminCliError((err as Error).message);
      throw err;
    });
  if (json) return void console.log(JSON.stringify(report, null, 2));
  const j = report.journal;
  const upTo = j?.lastAt ? `, with the metadata journal up to ${j.lastAt}` : '';
  console.log(`recovered snapshot ${report.snapshot.seq} of ${report.snapshot.createdAt}${upTo} into ${report.dataDir}`);
  if (!j) console.log('note: this snapshot comes from a release without the metadata journal: changes after it are not restored');
  if (j?.unreadable.length) {
    console.log(`NOT RESTORED: ${j.unreadable.length} journal entr${j.unreadable.length === 1 ? 'y' : 'ies'} could not be read: ` +
      'bring back the shard-stores that are down and run recover again (--force) to restore them');
  }
  if (report.heldBack.length) console.log(`held back by: ${report.heldBack.map((h) => `${h.store} (${h.offered})`).join(', ')}`);
  if (report.atRisk.blobs.length) {
    console.log(`AT RISK: ${report.atRisk.blobs.length} blob(s) (${report.atRisk.shardFiles} shard files) on the stores are not in the recovered metadata` +
      ' (writes never acknowledged, garbage about to be deleted, or writes in the entries above):');
    for (const b of report.atRisk.blobs.slice(0, 50)) console.log(`  ${b}`);
    if (report.atRisk.blobs.length > 50) console.log(`  … and ${report.atRisk.blobs.length - 50} more (--json lists all)`);
  } else {
    console.log('every blob on the stores is in the recovered metadata');
  }
  console.log(`start the gateway on ${report.dataDir} with the same master key and SHARDGATE_SHARD_STORES`);
}

function printNewKey(key: NewAccessKey): void {
  console.log(`user:              ${key.user}`);
  console.log(`access key id:     ${key.accessKeyId}`);
  console.log(`secret access key: ${key.secretAccessKey}`);
  console.log('the secret is shown only now: store it safely');
}

async function userCommand(t: AdminTarget, args: string[], json: boolean): Promise<void> {
  const [sub, user] = args;
  const needUser = (): string => {
    if (!user) throw new AdminCliError(`usage: shardgate admin user ${sub ?? 'create|list|disable|enable|delete'} USER`, 2);
    return encodeURIComponent(user);
  };
  switch (sub) {
    case 'create': {
      const { key } = await adminRequest<{ key: NewAccessKey }>(t, 'POST', '/users', { user: user ?? '' });
      return json ? void console.log(JSON.stringify(key, null, 2)) : printNewKey(key);
    }
    case 'list': {
      const { users } = await adminRequest<{ users: UserView[] }>(t, 'GET', '/users');
      if (json) return void console.log(JSON.stringify(users, null, 2));
      return void console.log(table(['USER', 'KEYS', 'ACTIVE', 'BUCKETS'], users.map((u) => [u.user, String(u.keys), String(u.activeKeys), String(u.buckets)])));
    }
    case 'disable':
    case 'enable': {
      const { keys } = await adminRequest<{ keys: AccessKeyView[] }>(t, 'POST', `/users/${needUser()}/state`, { state: sub === 'disable' ? 'disabled' : 'active' });
      return void console.log(`${user}: ${keys.length} key(s) ${sub === 'disable' ? 'disabled' : 'active'}`);
    }
    case 'delete': {
      const { deleted } = await adminRequest<{ deleted: string[] }>(t, 'DELETE', `/users/${needUser()}`);
      return void console.log(`${user} deleted with its ${deleted.length} key(s); its buckets stay`);
    }
    default:
      throw new AdminCliError('usage: shardgate admin user create|list|disable|enable|delete [USER]', 2);
  }
}

async function keyCommand(t: AdminTarget, args: string[], user: string | undefined, json: boolean): Promise<void> {
  const [sub, arg] = args;
  const needArg = (what: string): string => {
    if (!arg) throw new AdminCliError(`usage: shardgate admin key ${sub} ${what}`, 2);
    return encodeURIComponent(arg);
  };
  switch (sub) {
    case 'create': {
      needArg('USER');
      const { key } = await adminRequest<{ key: NewAccessKey }>(t, 'POST', '/keys', { user: arg });
      return json ? void console.log(JSON.stringify(key, null, 2)) : printNewKey(key);
    }
    case 'list': {
      const { keys } = await adminRequest<{ keys: AccessKeyView[] }>(t, 'GET', user ? `/keys?user=${encodeURIComponent(user)}` : '/keys');
      if (json) return void console.log(JSON.stringify(keys, null, 2));
      return void console.log(table(['ACCESS KEY ID', 'USER', 'STATUS', 'CREATED'], keys.map((k) => [k.accessKeyId, k.user, k.status, k.createdAt])));
    }
    case 'disable':
    case 'enable': {
      const { key } = await adminRequest<{ key: AccessKeyView }>(t, 'POST', `/keys/${needArg('ID')}/state`, { state: sub === 'disable' ? 'disabled' : 'active' });
      return void console.log(`${key.accessKeyId} (${key.user}) is ${key.status}`);
    }
    case 'delete': {
      const { deleted } = await adminRequest<{ deleted: string }>(t, 'DELETE', `/keys/${needArg('ID')}`);
      return void console.log(`${deleted} deleted`);
    }
    default:
      throw new AdminCliError('usage: shardgate admin key create USER | list [--user USER] | disable ID | enable ID | delete ID', 2);
  }
}

const QUOTA_USAGE = 'usage: shardgate admin bucket quota BUCKET [SIZE|none] (SIZE like 500G or 1.5T)';

async function bucketCommand(t: AdminTarget, args: string[], json: boolean): Promise<void> {
  const [sub, bucket, size, ...rest] = args;
  if (sub !== 'quota' || !bucket || rest.length) throw new AdminCliError(QUOTA_USAGE, 2);
  const path = `/buckets/${encodeURIComponent(bucket)}/quota`;
  let view: BucketQuotaView;
  if (size === undefined) {
    view = await adminRequest<BucketQuotaView>(t, 'GET', path);
  } else {
    const quotaBytes = size.toLowerCase() === 'none' ? null : sizeInBytes(size);
    if (quotaBytes === undefined) throw new AdminCliError(`"${size}" is not a size: ${QUOTA_USAGE}`, 2);
    view = await adminRequest<BucketQuotaView>(t, 'PUT', path, { quotaBytes });
  }
  if (json) return void console.log(JSON.stringify(view, null, 2));
  const quota = view.quotaBytes === null ? 'none' : `${bytes(view.quotaBytes)} (${view.quotaBytes} bytes)`;
  const share = view.quotaBytes === null ? '' : `, ${(100 * view.usedBytes / view.quotaBytes).toFixed(1)}% of the quota`;
  console.log(`bucket ${view.bucket}: quota ${quota}; used ${bytes(view.usedBytes)} (${view.usedBytes} bytes)${share}`);
}

function needId(args: string[], cmd: string): string {
  if (!args[0]) throw new AdminCliError(`usage: shardgate admin ${cmd} ID (ids are listed by \`shardgate admin nodes\`)`, 2);
  return args[0];
}

async function listNodes(t: AdminTarget, json: boolean): Promise<void> {
  const { nodes } = await adminRequest<{ nodes: NodeView[] }>(t, 'GET', '/nodes');
  // The audit standing comes from the audit endpoint; a gateway without it still lists its nodes.
  const audits = new Map<string, NodeAuditView>();
  try {
    for (const a of (await adminRequest<{ nodes: NodeAuditView[] }>(t, 'GET', '/audit')).nodes) audits.set(a.id, a);
  } catch {
    // older gateway: no audit column
  }
  const withAudit = nodes.map((n) => ({ ...n, lastAudit: audits.get(n.id)?.lastAudit ?? null }));
  if (json) return void console.log(JSON.stringify(withAudit, null, 2));
  const rows = withAudit.map((n) => [
    n.id, n.state, n.zone, n.freeBytes === null ? '-' : bytes(n.freeBytes), n.score.toFixed(2), String(n.piecesHeld),
    n.lastSeen ? ago(n.lastSeen) : 'never', n.lastAudit ? `${n.lastAudit.outcome} ${ago(n.lastAudit.at)}` : 'never', n.url,
  ]);
  console.log(table(['ID', 'STATE', 'ZONE', 'FREE', 'SCORE', 'PIECES', 'LAST SEEN', 'LAST AUDIT', 'URL'], rows));
}

async function showCluster(t: AdminTarget, json: boolean): Promise<void> {
  const view = await adminRequest<ClusterView>(t, 'GET', '/cluster');
  if (json) return void console.log(JSON.stringify(view, null, 2));
  console.log(`this gateway: ${view.gateway.holder} (${view.gateway.leading ? 'runs the background work' : 'standing by'}), metadata on ${view.backend}`);
  const rows = view.leases.map((l) => [l.name, l.holder, l.live ? l.expiresAt : `${l.expiresAt} (expired)`, String(l.generation)]);
  console.log(table(['LEASE', 'HOLDER', 'EXPIRES', 'GENERATION'], rows));
}

interface RepairStatus {
  job: RepairJobView | null;
  backlog: Backlog;
  queuedPieces: number;
}

async function repair(t: AdminTarget, wait: boolean, json: boolean): Promise<void> {
  const { job } = await adminRequest<{ job: RepairJobView }>(t, 'POST', '/repair', { full: true });
  if (!wait) {
    const st = await adminRequest<RepairStatus>(t, 'GET', '/repair');
    if (json) return void console.log(JSON.stringify(st, null, 2));
    console.log(`repair job ${job.id} started: ${st.backlog.degraded} of ${st.backlog.blobs} blobs short of 16 healthy pieces; follow with \`shardgate admin repair --wait\``);
    return;
  }
  let last = '';
  for (;;) {
    const cur = (await adminRequest<{ job: RepairJobView }>(t, 'GET', `/repair/jobs/${job.id}`)).job;
    const line = progress(cur);
    if (line !== last && !json) console.log(line);
    last = line;
    if (cur.state !== 'running') {
      if (json) console.log(JSON.stringify(cur, null, 2));
      if (cur.state === 'complete') {
        if (!json) console.log(`repair complete: ${cur.message ?? ''}`);
        return;
      }
      throw new AdminCliError(`repair cannot complete: ${cur.message ?? 'see the gateway log'}`);
    }
    await sleep(1_000);
  }
}

function progress(j: RepairJobView): string {
  return `job ${j.id} pass ${j.pass}: checked ${j.blobsChecked}/${j.blobsTotal} blobs, repaired ${j.blobsRepaired}` +
    ` (${j.piecesRebuilt} pieces), ${bytes(j.bytesRead + j.bytesWritten)} moved at ${bytes(j.bytesPerSecond)}/s` +
    (j.blobsFailed ? `, ${j.blobsFailed} failed` : '');
}

async function setState(t: AdminTarget, id: string, state: 'draining' | 'active', wait: boolean): Promise<void> {
  const { message } = await adminRequest<{ message: string }>(t, 'POST', `/nodes/${encodeURIComponent(id)}/state`, { state });
  console.log(message);
  if (!wait) return;
  let last = -1;
  for (;;) {
    const { node } = await adminRequest<{ node: NodeView }>(t, 'GET', `/nodes/${encodeURIComponent(id)}`);
    if (node.state === 'removed') return void console.log(`${id} is drained and removed`);
    if (node.state !== 'draining') throw new AdminCliError(`${id} is ${node.state} now: the drain was cancelled`);
    if (node.piecesHeld !== last) console.log(`${id}: ${node.piecesHeld} pieces left`);
    last = node.piecesHeld;
    await sleep(1_000);
  }
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function ago(isoTime: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(isoTime)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** `shardgate admin ...`: errors the user can act on are one line on stderr and an exit code. */
export async function runAdminCli(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await runAdmin(argv, env);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof AdminCliError) {
      console.error(`shardgate admin: ${err.message}`);
      process.exitCode = err.exitCode;
    } else if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      console.error(`shardgate admin: ${(err as Error).message}`);
      process.exitCode = 2;
    } else {
      throw err;
    }
  }
}
