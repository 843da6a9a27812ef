import { useState } from 'preact/hooks';
import { objectPath, presign, s3, text } from '../api';
import { getTags, listVersions, putTags, restoreVersion } from '../s3ops';
import { ErrorLine, formatBytes, formatDate, go, href, useAction, useLoad } from '../ui';
import { download } from './browser';
import { TagEditor } from './settings';

interface Head {
  size: number;
  contentType: string;
  etag: string;
  lastModified: string;
  versionId: string | null;
  meta: Array<[string, string]>;
  lockMode: string | null;
  retainUntil: string | null;
  legalHold: string | null;
}

async function head(bucket: string, key: string): Promise<Head> {
  const res = await s3('HEAD', objectPath(bucket, key));
  const h = res.headers;
  const meta: Array<[string, string]> = [];
  h.forEach((v, k) => {
    if (k.startsWith('x-amz-meta-')) meta.push([k.slice(11), v]);
  });
  return {
    size: Number(h.get('content-length') ?? 0), contentType: h.get('content-type') ?? '', etag: h.get('etag') ?? '', lastModified: h.get('last-modified') ?? '',
    versionId: h.get('x-amz-version-id'), meta, lockMode: h.get('x-amz-object-lock-mode'), retainUntil: h.get('x-amz-object-lock-retain-until-date'),
    legalHold: h.get('x-amz-object-lock-legal-hold'),
  };
}

export function ObjectPage({ bucket, objectKey: key }: { bucket: string; objectKey: string }) {
  const info = useLoad(() => head(bucket, key), [bucket, key]);
  const action = useAction();
  const folder = key.slice(0, key.lastIndexOf('/') + 1);
  const h = info.data;
  return (
    <section class="object">
      <nav class="crumbs"><a href={href('buckets')}>Buckets</a> / <a href={href('b', bucket)}>{bucket}</a>{folder && <> / <a href={href('b', bucket, folder)}>{folder}</a></>}</nav>
      <h1 class="key">{key.slice(folder.length)}</h1>
      <ErrorLine error={info.error ?? action.error} />
      {h && (
        <div class="card">
          <dl class="facts">
            <dt>Key</dt><dd class="key">{key}</dd>
            <dt>Size</dt><dd>{formatBytes(h.size)} ({h.size.toLocaleString()} bytes)</dd>
            <dt>Type</dt><dd>{h.contentType}</dd>
            <dt>Last modified</dt><dd>{formatDate(h.lastModified)}</dd>
            <dt>ETag</dt><dd class="mono">{h.etag}</dd>
            {h.versionId && <><dt>Version</dt><dd class="mono">{h.versionId}</dd></>}
            {h.meta.map(([k, v]) => <><dt>x-amz-meta-{k}</dt><dd>{v}</dd></>)}
          </dl>
          <button type="button" class="primary" onClick={() => void action.run(() => download(bucket, key))}>Download</button>
          <button type="button" class="danger" onClick={() => {
            if (!confirm(`Delete ${key}?`)) return;
            void action.run(async () => {
              await s3('DELETE', objectPath(bucket, key));
              go('b', bucket, folder);
            });
          }}>Delete</button>
        </div>
      )}
      <Share bucket={bucket} objectKey={key} />
      <ObjectTags bucket={bucket} objectKey={key} />
      {h && <Lock bucket={bucket} objectKey={key} head={h} onChange={info.reload} />}
      <Versions bucket={bucket} objectKey={key} onChange={info.reload} />
    </section>
  );
}

const EXPIRIES: Array<[string, number]> = [['1 hour', 3600], ['1 day', 86400], ['7 days', 604800]];

function Share({ bucket, objectKey: key }: { bucket: string; objectKey: string }) {
  const [expiry, setExpiry] = useState(3600);
  const [link, setLink] = useState('');
  const action = useAction();
  return (
    <div class="card">
      <h2>Share link</h2>
      <p class="muted">Anyone with the link can download this object until it expires. It is signed with your key: disabling the key revokes it.</p>
      <label>Expires after <select value={expiry} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
        {EXPIRIES.map(([l, s]) => <option key={s} value={s}>{l}</option>)}
      </select></label>
      <button type="button" onClick={() => void action.run(async () => setLink(await presign(objectPath(bucket, key), expiry)))}>Make link</button>
      {link && <p><input class="share" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={() => void navigator.clipboard?.writeText(link)}>Copy</button></p>}
      <ErrorLine error={action.error} />
    </div>
  );
}

function ObjectTags({ bucket, objectKey: key }: { bucket: string; objectKey: string }) {
  // Computed when used: objectPath throws (a sentence) for keys a browser cannot address.
  const path = (): string => objectPath(bucket, key);
  const tags = useLoad(() => getTags(path()), [bucket, key]);
  return <TagEditor title="Tags" tags={tags.data} error={tags.error} save={async (t) => {
    await putTags(path(), t);
    tags.reload();
  }} />;
}

function Lock({ bucket, objectKey: key, head: h, onChange }: { bucket: string; objectKey: string; head: Head; onChange: () => void }) {
  const path = (): string => objectPath(bucket, key);
  const lock = useLoad(async () => {
    const res = await s3('GET', objectPath(bucket), { query: { 'object-lock': '' }, accept: [404] });
    return res.status !== 404 && text(new DOMParser().parseFromString(await res.text(), 'application/xml'), 'ObjectLockEnabled') === 'Enabled';
  }, [bucket]);
  const [mode, setMode] = useState('GOVERNANCE');
  const [until, setUntil] = useState('');
  const action = useAction();
  if (!lock.data) return null;
  const q = h.versionId ? { versionId: h.versionId } : {};
  return (
    <div class="card">
      <h2>Retention and legal hold</h2>
      <p>{h.lockMode ? <>Locked in <strong>{h.lockMode}</strong> mode until {formatDate(h.retainUntil)}.</> : 'No retention.'} Legal hold is <strong>{h.legalHold === 'ON' ? 'on' : 'off'}</strong>.</p>
      <form class="inline" onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          await s3('PUT', path(), {
            query: { retention: '', ...q },
            body: `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>${mode}</Mode><RetainUntilDate>${new Date(until).toISOString()}</RetainUntilDate></Retention>`,
          });
          onChange();
        });
      }}>
        <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}><option>GOVERNANCE</option><option>COMPLIANCE</option></select>
        <input type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} required />
        <button type="submit" disabled={action.busy}>Set retention</button>
      </form>
      <button type="button" disabled={action.busy} onClick={() => void action.run(async () => {
        await s3('PUT', path(), { query: { 'legal-hold': '', ...q }, body: `<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${h.legalHold === 'ON' ? 'OFF' : 'ON'}</Status></LegalHold>` });
        onChange();
      })}>{h.legalHold === 'ON' ? 'Release legal hold' : 'Place legal hold'}</button>
      <ErrorLine error={lock.error ?? action.error} />
    </div>
  );
}

function Versions({ bucket, objectKey: key, onChange }: { bucket: string; objectKey: string; onChange: () => void }) {
  const versions = useLoad(() => listVersions(bucket, key), [bucket, key]);
  const action = useAction();
  const list = versions.data;
  if (list && list.length <= 1 && !list[0]?.deleteMarker) return null;
  return (
    <div class="card" id="versions">
      <h2>Versions</h2>
      <ErrorLine error={versions.error ?? action.error} />
      {list && (
        <table class="list">
          <thead><tr><th>Version</th><th class="date">Last modified</th><th class="num">Size</th><th class="actions" /></tr></thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.versionId}>
                <td class="mono">{v.versionId}{v.isLatest && ' (current)'}{v.deleteMarker && ' — delete marker'}</td>
                <td>{formatDate(v.lastModified)}</td>
                <td class="num">{v.deleteMarker ? '' : formatBytes(v.size)}</td>
                <td class="actions">
                  {!v.deleteMarker && <button type="button" onClick={() => void action.run(() => download(bucket, key, v.versionId))}>Download</button>}
                  {!v.deleteMarker && !v.isLatest && <button type="button" onClick={() => void action.run(async () => {
                    await restoreVersion(bucket, key, v.versionId);
                    versions.reload();
                    onChange();
                  })}>Restore</button>}
                  <button type="button" class="danger" onClick={() => {
                    if (!confirm(`Delete version ${v.versionId} for good?`)) return;
                    void action.run(async () => {
                      await s3('DELETE', objectPath(bucket, key), { query: { versionId: v.versionId } });
                      versions.reload();
                      onChange();
                    });
                  }}>Delete version</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
