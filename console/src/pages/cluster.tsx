import { useState } from 'preact/hooks';
import { admin } from '../api';
import { checkReportLog } from '../reports';
import { ErrorLine, formatBytes, formatDate, useAction, useInterval, useLoad } from '../ui';

interface NodeView {
  id: string;
  url: string;
  zone: string;
  state: string;
  stateSince: string | null;
  stateReason: string | null;
  score: number;
  capacityBytes: number | null;
  freeBytes: number | null;
  lastSeen: string | null;
  piecesHeld: number;
  failedProbes: number;
}

interface AuditView {
  id: string;
  lastAudit: { at: string; outcome: string } | null;
  lastFailure: { at: string; outcome: string; detail: string | null } | null;
}

interface RepairJob {
  id: number;
  trigger: string;
  state: string;
  pass: number;
  startedAt: string;
  finishedAt: string | null;
  blobsTotal: number;
  blobsChecked: number;
  blobsRepaired: number;
  blobsFailed: number;
  piecesRebuilt: number;
  bytesPerSecond: number;
  message: string | null;
}

interface RepairStatus {
  job: RepairJob | null;
  backlog: { blobs: number; belowThreshold: number; degraded: number; unreadable: number; piecesHealthy: number; piecesUnhealthy: number; piecesDraining: number; piecesMisplaced: number };
  queuedPieces: number;
  config: { threshold: number; rateBytesPerSecond: number; intervalMs: number };
}

/** One pass of the bitrot scrub over every live piece (kept by the gateway since it started). */
interface ScrubPass {
  startedAt: string;
  endedAt: string | null;
  piecesChecked: number;
  piecesBad: number;
  bytesRead: number;
}

interface ScrubView {
  current: ScrubPass;
  history: ScrubPass[];
}

interface ClusterData {
  nodes: NodeView[];
  audits: Map<string, AuditView>;
  repair: RepairStatus;
  stored: number | null;
  scrub: ScrubView | null;
}

async function load(): Promise<ClusterData> {
  const [nodes, audit, repair, buckets] = await Promise.all([
    admin<{ nodes: NodeView[] }>('GET', '/nodes'),
    admin<{ nodes: AuditView[]; scrub?: ScrubView }>('GET', '/audit').catch(() => ({ nodes: [] as AuditView[], scrub: undefined })),
    admin<RepairStatus>('GET', '/repair'),
    admin<{ buckets: Array<{ usedBytes: number }> }>('GET', '/buckets?objects=false').catch(() => undefined),
  ]);
  return {
    nodes: nodes.nodes, audits: new Map(audit.nodes.map((a) => [a.id, a])), repair,
    stored: buckets ? buckets.buckets.reduce((n, b) => n + b.usedBytes, 0) : null,
    scrub: audit.scrub ?? null,
  };
}

const K = 10;
const N = 16;

/** Shard-stores by zone, the repair backlog and job, and capacity; refreshed every 5 s. */
/** What each state change does, asked before it is made (%s: the store). */
const STATE_CHANGES: Record<string, string> = {
  active: 'Make %s active again? New pieces will be placed on it.',
  draining: 'Drain %s? Its pieces are copied to the other stores, then it is removed.',
  removed: 'Remove %s from the cluster? It holds no pieces any more.',
};

export function ClusterPage() {
  const data = useLoad(load, []);
  const [notice, setNotice] = useState<string | null>(null);
  useInterval(data.reload, 5000);
  const action = useAction();
  const d = data.data;
  const counted = d?.nodes.filter((n) => n.state !== 'removed') ?? [];
  const raw = counted.reduce((s, n) => s + (n.capacityBytes ?? 0), 0);
  const free = counted.reduce((s, n) => s + (n.freeBytes ?? 0), 0);
  const zones = new Map<string, NodeView[]>();
  for (const n of d?.nodes ?? []) zones.set(n.zone, [...(zones.get(n.zone) ?? []), n]);
  const job = d?.repair.job;
  return (
    <section>
      <h1>Cluster</h1>
      <ErrorLine error={data.error ?? action.error} />
      {d && (
        <>
          <div class="stats" id="capacity">
            <div><span class="label">Raw capacity</span><strong>{formatBytes(raw)}</strong></div>
            <div><span class="label">Raw used</span><strong>{formatBytes(raw - free)}</strong></div>
            <div><span class="label">Usable at {K}/{N}</span><strong>{formatBytes((raw * K) / N)}</strong></div>
            <div><span class="label">Usable free</span><strong>{formatBytes((free * K) / N)}</strong></div>
            <div><span class="label">Stored (all versions)</span><strong>{formatBytes(d.stored)}</strong></div>
            <div><span class="label">Stores up</span><strong>{d.nodes.filter((n) => n.state === 'active').length} / {d.nodes.length}</strong></div>
          </div>
          <div class="card" id="repair">
            <h2>Repair</h2>
            <p>
              {d.repair.backlog.blobs.toLocaleString()} blobs; {d.repair.backlog.degraded.toLocaleString()} short of {N} healthy pieces
              ({d.repair.backlog.belowThreshold.toLocaleString()} below the repair threshold of {d.repair.config.threshold}),
              {' '}{d.repair.backlog.unreadable.toLocaleString()} unreadable; {d.repair.backlog.piecesUnhealthy.toLocaleString()} pieces to rebuild,
              {' '}{d.repair.backlog.piecesDraining.toLocaleString()} to move off draining stores.
            </p>
            {job && (
              <p>
                Job {job.id} ({job.trigger}) is <strong>{job.state}</strong>{job.state === 'running' && <>, pass {job.pass}:</>}
                {' '}{job.blobsChecked.toLocaleString()} of {job.blobsTotal.toLocaleString()} blobs checked, {job.blobsRepaired.toLocaleString()} repaired,
                {' '}{job.blobsFailed.toLocaleString()} failed, {job.piecesRebuilt.toLocaleString()} pieces rebuilt at {formatBytes(job.bytesPerSecond)}/s.
                {job.state === 'running' && <progress max={job.blobsTotal || 1} value={job.blobsChecked} />}
                {job.message && <> {job.message}</>}
              </p>
            )}
            <button type="button" disabled={action.busy || job?.state === 'running'} onClick={() => void action.run(async () => {
              await admin('POST', '/repair', { full: true });
              data.reload();
            })}>Repair everything now</button>
            <button type="button" id="audit-now" disabled={action.busy} onClick={() => void action.run(async () => {
              const { results } = await admin<{ results: Array<{ passed: boolean }> }>('POST', '/audit', {});
              const failed = results.filter((r) => !r.passed).length;
              setNotice(failed ? `${failed} of ${results.length} stores failed the audit: see their last failure below.` : `All ${results.length} stores passed the audit.`);
              data.reload();
            })}>Audit every store now</button>
            {notice && <span class="notice" role="status"> {notice}</span>}
          </div>
          {d.scrub && (
            <div class="card" id="scrub">
              <h2>Scrub</h2>
              <p>
                Every live piece is read back at a bounded rate and checked against what was written; damaged or
                missing pieces go to repair. This pass, since {formatDate(d.scrub.current.startedAt)}:
                {' '}{d.scrub.current.piecesChecked.toLocaleString()} pieces checked ({formatBytes(d.scrub.current.bytesRead)}),
                {' '}{d.scrub.current.piecesBad.toLocaleString()} damaged.
              </p>
              {d.scrub.history.length > 0 ? (
                <table class="list">
                  <thead><tr><th class="date">Pass ended</th><th class="num">Pieces checked</th><th class="num">Damaged</th><th class="num">Read</th></tr></thead>
                  <tbody>
                    {d.scrub.history.map((p) => (
                      <tr key={p.startedAt}>
                        <td class="date">{p.endedAt ? formatDate(p.endedAt) : ''}</td>
                        <td class="num">{p.piecesChecked.toLocaleString()}</td>
                        <td class={p.piecesBad ? 'num error' : 'num'}>{p.piecesBad.toLocaleString()}</td>
                        <td class="num">{formatBytes(p.bytesRead)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : <p>No pass has finished since the gateway started.</p>}
            </div>
          )}
          {[...zones.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([zone, nodes]) => (
            <div class="card" key={zone}>
              <h2>{zone}</h2>
              <table class="list nodes">
                <thead><tr><th>Store</th><th>State</th><th class="num">Free</th><th class="num">Capacity</th><th class="num">Score</th><th class="num">Pieces</th><th>Last audit</th><th class="date">Last seen</th><th class="node-actions" /></tr></thead>
                <tbody>
                  {nodes.map((n) => {
                    const a = d.audits.get(n.id);
                    return (
                      <tr key={n.id} class={`state-${n.state}`} data-node={n.id}>
                        <td class="name" title={n.url}>{n.id}</td>
                        <td><span class={`badge ${n.state}`}>{n.state}</span>{n.stateReason && <span class="muted small" title={n.stateReason}> {n.stateReason}</span>}</td>
                        <td class="num">{formatBytes(n.freeBytes)}</td>
                        <td class="num">{formatBytes(n.capacityBytes)}</td>
                        <td class="num">{n.score.toFixed(2)}</td>
                        <td class="num">{n.piecesHeld.toLocaleString()}</td>
                        <td>
                          {a?.lastAudit ? `${a.lastAudit.outcome}, ${formatDate(a.lastAudit.at)}` : 'never'}
                          {a?.lastFailure && <span class="error small" title={a.lastFailure.detail ?? ''}> (last failed: {a.lastFailure.outcome}, {formatDate(a.lastFailure.at)})</span>}
                        </td>
                        <td>{formatDate(n.lastSeen)}{n.failedProbes > 0 && <span class="error small"> ({n.failedProbes} probes failed)</span>}</td>
                        <td class="node-actions">
                          <select aria-label={`Change the state of ${n.id}`} value="" disabled={action.busy} onChange={(e) => {
                            const to = e.currentTarget.value;
                            e.currentTarget.value = '';
                            if (!to || !confirm(STATE_CHANGES[to]!.replace('%s', n.id))) return;
                            void action.run(async () => {
                              const res = await admin<{ message: string }>('POST', `/nodes/${encodeURIComponent(n.id)}/state`, { state: to });
                              setNotice(res.message);
                              data.reload();
                            });
                          }}>
                            <option value="">Change…</option>
                            {n.state !== 'active' && <option value="active">Make active</option>}
                            {n.state !== 'draining' && n.state !== 'removed' && <option value="draining">Drain</option>}
                            {n.state === 'draining' || n.piecesHeld === 0 ? <option value="removed">Remove</option> : null}
                          </select>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ))}
          <ReportLog />
        </>
      )}
    </section>
  );
}

const SHOWN_REPORTS = 32;

/** The signed report log, checked here in the browser; its latest entries. */
function ReportLog() {
  const log = useLoad(checkReportLog, []);
  const d = log.data;
  return (
    <div class="card" id="reports">
      <h2>Signed report log</h2>
      <ErrorLine error={log.error} />
      {!d && !log.error && <p class="muted">Checking…</p>}
      {d && (
        <>
          <p>
            {d.entries === 0 && <span class="muted">No reports yet: each store gets one signed report per period. </span>}
            {d.entries > 0 && <>{d.entries.toLocaleString()} entries;{' '}</>}
            {d.ok === true && d.entries > 0 && <strong class="notice">every signature and the hash chain verify.</strong>}
            {d.ok === false && <strong class="error">the log does NOT verify: {d.errors[0]}</strong>}
            {d.ok === null && <span class="muted">this browser cannot check Ed25519 signatures: run <code>shardgate admin verify-reports</code>.</span>}
            {' '}<button type="button" class="link" onClick={log.reload}>Check again</button>
          </p>
          {d.reports.length > 0 && (
            <table class="list">
              <thead><tr><th>Store</th><th>Zone</th><th class="date">Period end</th><th class="num">Audits passed</th><th class="num">Failed</th><th class="num">Uptime</th><th class="num">Score</th><th>State</th></tr></thead>
              <tbody>
                {d.reports.slice(-SHOWN_REPORTS).reverse().map((r) => {
                  const failed = r.audits.wrong + r.audits.missing + r.audits.timeout + r.audits.error;
                  return (
                    <tr key={r.seq}>
                      <td>{r.node}</td><td>{r.zone}</td><td>{formatDate(new Date(r.periodEnd).toISOString())}</td>
                      <td class="num">{r.audits.pass}</td><td class={failed ? 'num error' : 'num'}>{failed}</td>
                      <td class="num">{(r.uptime.ratio * 100).toFixed(1)}%</td><td class="num">{r.score.toFixed(2)}</td><td>{r.state}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
