import { useEffect, useState } from 'preact/hooks';
import { admin, currentUser, objectPath, s3, text } from '../api';
import { getTags, getVersioning, parseTagLines, putTags, putVersioning } from '../s3ops';
import { ErrorLine, formatBytes, href, Notice, useAction, useLoad } from '../ui';

export function SettingsPage({ bucket }: { bucket: string }) {
  return (
    <section class="settings">
      <nav class="crumbs"><a href={href('buckets')}>Buckets</a> / <a href={href('b', bucket)}>{bucket}</a> / settings</nav>
      <h1>Settings of {bucket}</h1>
      <Versioning bucket={bucket} />
      <ObjectLock bucket={bucket} />
      {currentUser()?.root && <Quota bucket={bucket} />}
      <Tags bucket={bucket} />
      <DocEditor bucket={bucket} sub="policy" title="Bucket policy" kind="json" missing={['NoSuchBucketPolicy']}
        template={`{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Principal": "*",\n      "Action": "s3:GetObject",\n      "Resource": "arn:aws:s3:::${bucket}/*"\n    }\n  ]\n}`} />
      <DocEditor bucket={bucket} sub="cors" title="CORS rules" kind="xml" missing={['NoSuchCORSConfiguration']}
        template={'<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigin>https://example.com</AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n    <AllowedHeader>*</AllowedHeader>\n  </CORSRule>\n</CORSConfiguration>'} />
      <DocEditor bucket={bucket} sub="lifecycle" title="Lifecycle rules" kind="xml" missing={['NoSuchLifecycleConfiguration']}
        template={'<LifecycleConfiguration>\n  <Rule>\n    <ID>expire-tmp</ID>\n    <Filter><Prefix>tmp/</Prefix></Filter>\n    <Status>Enabled</Status>\n    <Expiration><Days>7</Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>'} />
    </section>
  );
}

function Versioning({ bucket }: { bucket: string }) {
  const state = useLoad(() => getVersioning(bucket), [bucket]);
  const action = useAction();
  const set = (s: 'Enabled' | 'Suspended'): void => void action.run(async () => {
    await putVersioning(bucket, s);
    state.reload();
  });
  const label = { Enabled: 'enabled', Suspended: 'suspended', Off: 'never enabled' }[state.data ?? 'Off'];
  return (
    <div class="card" id="versioning">
      <h2>Versioning</h2>
      {state.data && <p>Versioning is <strong id="versioning-state">{label}</strong>. {state.data === 'Enabled'
        ? 'Every write keeps the object\'s former version, and a delete leaves a delete marker.'
        : 'A write replaces the object; a delete removes it.'}</p>}
      <button type="button" disabled={action.busy || state.data === 'Enabled'} onClick={() => set('Enabled')}>Enable versioning</button>
      <button type="button" disabled={action.busy || state.data !== 'Enabled'} onClick={() => set('Suspended')}>Suspend versioning</button>
      <ErrorLine error={state.error ?? action.error} />
    </div>
  );
}

interface LockConfig {
  enabled: boolean;
  mode: string;
  days: string;
  years: string;
}

async function getLock(bucket: string): Promise<LockConfig> {
  const res = await s3('GET', objectPath(bucket), { query: { 'object-lock': '' }, accept: [404] });
  const body = await res.text();
  if (res.status === 404) return { enabled: false, mode: '', days: '', years: '' };
  const doc = new DOMParser().parseFromString(body, 'application/xml');
  const rule = doc.querySelector('Rule > DefaultRetention');
  return {
    enabled: text(doc, 'ObjectLockEnabled') === 'Enabled',
    mode: rule ? text(rule, 'Mode') ?? '' : '', days: rule ? text(rule, 'Days') ?? '' : '', years: rule ? text(rule, 'Years') ?? '' : '',
  };
}

function ObjectLock({ bucket }: { bucket: string }) {
  const lock = useLoad(() => getLock(bucket), [bucket]);
  const [mode, setMode] = useState('');
  const [days, setDays] = useState('');
  const action = useAction();
  useEffect(() => {
    if (lock.data) {
      setMode(lock.data.mode);
      setDays(lock.data.days || (lock.data.years ? String(Number(lock.data.years) * 365) : ''));
    }
  }, [lock.data]);
  if (!lock.data) return <ErrorLine error={lock.error} />;
  if (!lock.data.enabled) {
    return <div class="card"><h2>Object Lock</h2><p class="muted">Object Lock is off for this bucket. It can only be turned on when a bucket is created.</p></div>;
  }
  const save = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const rule = mode ? `<Rule><DefaultRetention><Mode>${mode}</Mode><Days>${Number(days)}</Days></DefaultRetention></Rule>` : '';
      await s3('PUT', objectPath(bucket), {
        query: { 'object-lock': '' },
        body: `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>${rule}</ObjectLockConfiguration>`,
      });
      lock.reload();
    });
  };
  return (
    <form class="card" id="object-lock" onSubmit={save}>
      <h2>Object Lock default retention</h2>
      <p class="muted">New objects are locked for this long unless their upload says otherwise. COMPLIANCE cannot be shortened or removed by anyone, root included.</p>
      <label>Mode <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
        <option value="">no default retention</option><option value="GOVERNANCE">GOVERNANCE</option><option value="COMPLIANCE">COMPLIANCE</option>
      </select></label>
      {mode && <label>Days <input type="number" min="1" value={days} onInput={(e) => setDays(e.currentTarget.value)} required /></label>}
      <button type="submit" disabled={action.busy}>Save</button>
      <ErrorLine error={action.error} />
    </form>
  );
}

/** Sizes as people write them: 500G, 1.5T, 200M (binary units), or bytes. */
function parseSize(s: string): number | null | undefined {
  const t = s.trim();
  if (t === '' || /^none$/i.test(t)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)i?B?$/i.exec(t);
  if (!m) return undefined;
  const mult = 1024 ** 'BKMGTP'.indexOf((m[2] || 'B').toUpperCase());
  return Math.round(Number(m[1]) * mult);
}

function Quota({ bucket }: { bucket: string }) {
  const q = useLoad(() => admin<{ quotaBytes: number | null; usedBytes: number }>('GET', `/buckets/${encodeURIComponent(bucket)}/quota`), [bucket]);
  const [value, setValue] = useState('');
  const action = useAction();
  const save = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const bytes = parseSize(value);
      if (bytes === undefined) throw new Error('Write the quota as a size such as 500G, 1.5T or 200M, or "none" to remove it');
      await admin('PUT', `/buckets/${encodeURIComponent(bucket)}/quota`, { quotaBytes: bytes });
      setValue('');
      q.reload();
    });
  };
  return (
    <form class="card" onSubmit={save}>
      <h2>Quota</h2>
      {q.data && <p>Holds {formatBytes(q.data.usedBytes)} (every version counts); quota: <strong>{q.data.quotaBytes === null ? 'none' : formatBytes(q.data.quotaBytes)}</strong>.</p>}
      <label>New quota <input value={value} placeholder="500G, or none" onInput={(e) => setValue(e.currentTarget.value)} required /></label>
      <button type="submit" disabled={action.busy}>Set quota</button>
      <ErrorLine error={q.error ?? action.error} />
    </form>
  );
}

function Tags({ bucket }: { bucket: string }) {
  const path = objectPath(bucket);
  const tags = useLoad(async () => {
    const res = await s3('GET', path, { query: { tagging: '' }, accept: [404] });
    return res.status === 404 ? [] : getTags(path);
  }, [bucket]);
  return <TagEditor title="Bucket tags" tags={tags.data} error={tags.error} save={async (t) => {
    await putTags(path, t);
    tags.reload();
  }} />;
}

export function TagEditor({ title, tags, error, save }: { title: string; tags: Array<[string, string]> | undefined; error: string | null; save: (t: Array<[string, string]>) => Promise<void> }) {
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  useEffect(() => {
    if (tags) setValue(tags.map(([k, v]) => `${k}=${v}`).join('\n'));
  }, [tags]);
  if (!tags) return <div class="card"><h2>{title}</h2>{error ? <ErrorLine error={error} /> : <p class="muted">Loading…</p>}</div>;
  return (
    <form class="card" onSubmit={(e) => {
      e.preventDefault();
      setSaved(false);
      void action.run(async () => {
        await save(parseTagLines(value));
        setSaved(true);
      });
    }}>
      <h2>{title}</h2>
      <p class="muted">One <code>key=value</code> a line.</p>
      <textarea rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} />
      <button type="submit" disabled={action.busy}>Save tags</button>
      {saved && <Notice>Saved.</Notice>}
      <ErrorLine error={error ?? action.error} />
    </form>
  );
}

/** Where a JSON text fails to parse, as a line and column the user can find. */
function jsonProblem(s: string): string | null {
  try {
    JSON.parse(s);
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    if (!pos) return `This is not valid JSON: ${msg}.`;
    const before = s.slice(0, Number(pos[1]));
    const line = before.split('\n').length;
    return `This is not valid JSON at line ${line}, column ${before.length - before.lastIndexOf('\n')}: ${msg}.`;
  }
}

function xmlProblem(s: string): string | null {
  const doc = new DOMParser().parseFromString(s, 'application/xml');
  const err = doc.getElementsByTagName('parsererror')[0];
  return err ? `This is not well-formed XML: ${(err.textContent ?? '').split('\n').slice(0, 2).join(' ').trim()}` : null;
}

/** A bucket sub-resource edited as its document (policy JSON, CORS and lifecycle XML). */
function DocEditor({ bucket, sub, title, kind, template, missing }: { bucket: string; sub: string; title: string; kind: 'json' | 'xml'; template: string; missing: string[] }) {
  const path = objectPath(bucket);
  const doc = useLoad(async () => {
    const res = await s3('GET', path, { query: { [sub]: '' }, accept: [404] });
    const body = await res.text();
    if (res.status !== 404) return kind === 'json' ? JSON.stringify(JSON.parse(body), null, 2) : body.replace(/^<\?xml[^>]*>\s*/, '');
    const code = new DOMParser().parseFromString(body, 'application/xml').querySelector('Error > Code')?.textContent ?? '';
    if (!missing.includes(code)) throw new Error(`Could not read the ${title.toLowerCase()} (${code})`);
    return '';
  }, [bucket, sub]);
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const action = useAction();
  useEffect(() => setValue(doc.data ?? ''), [doc.data]);
  const problem = value.trim() ? (kind === 'json' ? jsonProblem(value) : xmlProblem(value)) : null;
  // Nothing to edit before the current document is in: typing would be overwritten by it.
  if (doc.data === undefined) return <div class="card"><h2>{title}</h2>{doc.error ? <ErrorLine error={doc.error} /> : <p class="muted">Loading…</p>}</div>;
  return (
    <form class="card" id={`doc-${sub}`} onSubmit={(e) => {
      e.preventDefault();
      setSaved(null);
      void action.run(async () => {
        if (problem) throw new Error(problem);
        if (value.trim()) await s3('PUT', path, { query: { [sub]: '' }, body: value, headers: { 'content-type': kind === 'json' ? 'application/json' : 'application/xml' } });
        else await s3('DELETE', path, { query: { [sub]: '' } });
        setSaved(value.trim() ? 'Saved.' : 'Removed.');
        doc.reload();
      });
    }}>
      <h2>{title}</h2>
      {doc.data === '' && !value && <p class="muted">None set. <button type="button" class="link" onClick={() => setValue(template)}>Start from an example</button></p>}
      <textarea rows={Math.min(20, Math.max(6, value.split('\n').length + 1))} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} class="code" />
      {problem && <p class="error">{problem}</p>}
      <button type="submit" disabled={action.busy}>{value.trim() ? 'Save' : 'Remove'}</button>
      {saved && <Notice>{saved}</Notice>}
      <ErrorLine error={doc.error ?? action.error} />
    </form>
  );
}

