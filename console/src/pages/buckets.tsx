import { useState } from 'preact/hooks';
import { currentUser } from '../api';
import { bucketUsage, createBucket, deleteBucket, listBuckets, type BucketUsage } from '../s3ops';
import { ErrorLine, formatBytes, formatDate, go, href, useAction, useLoad } from '../ui';

interface Row {
  name: string;
  createdAt: string;
  usage?: BucketUsage;
}

/**
 * The caller's buckets (ListBuckets). Root also sees every bucket with its owner, size and
 * object count from the admin API; other users see what S3 tells them.
 */
async function loadRows(): Promise<Row[]> {
  const own = await listBuckets();
  if (!currentUser()?.root) return own;
  const usage = await bucketUsage();
  return usage.map((u) => ({ name: u.name, createdAt: u.createdAt, usage: u }));
}

export function BucketsPage() {
  const rows = useLoad(loadRows, []);
  const root = currentUser()?.root ?? false;
  const del = useAction();
  return (
    <section>
      <h1>Buckets</h1>
      <CreateBucket onCreated={rows.reload} />
      <ErrorLine error={rows.error ?? del.error} />
      {rows.data && (rows.data.length === 0 ? <p class="muted">No buckets yet: create one above.</p> : (
        <table class="list" id="buckets">
          <thead>
            <tr><th>Name</th>{root && <th>Owner</th>}<th class="date">Created</th>{root && <th class="num">Objects</th>}{root && <th class="num">Size</th>}{root && <th class="num">Quota</th>}<th class="actions" /></tr>
          </thead>
          <tbody>
            {rows.data.map((b) => (
              <tr key={b.name} data-bucket={b.name}>
                <td class="name"><a href={href('b', b.name)}>{b.name}</a></td>
                {root && <td>{b.usage?.owner}</td>}
                <td>{formatDate(b.createdAt)}</td>
                {root && <td class="num">{b.usage?.objects?.toLocaleString()}</td>}
                {root && <td class="num">{formatBytes(b.usage?.usedBytes)}</td>}
                {root && <td class="num">{b.usage?.quotaBytes ? formatBytes(b.usage.quotaBytes) : 'none'}</td>}
                <td class="actions">
                  <a href={href('settings', b.name)}>Settings</a>
                  <button type="button" class="danger" disabled={del.busy} onClick={() => {
                    if (!confirm(`Delete the bucket ${b.name}? It must be empty.`)) return;
                    void del.run(async () => {
                      await deleteBucket(b.name);
                      rows.reload();
                    });
                  }}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

function CreateBucket({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [versioning, setVersioning] = useState(false);
  const [lock, setLock] = useState(false);
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const n = name.trim();
      await createBucket(n, { versioning, objectLock: lock });
      setName('');
      onCreated();
      go('b', n);
    });
  };
  return (
    <form class="inline" id="create-bucket" onSubmit={submit}>
      <input name="bucket-name" placeholder="new-bucket-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required
        pattern="[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]" title="3-63 lowercase letters, digits, dots and hyphens" spellcheck={false} />
      <label><input type="checkbox" name="versioning" checked={versioning || lock} disabled={lock} onChange={(e) => setVersioning(e.currentTarget.checked)} /> Versioning</label>
      <label title="Object Lock can only be chosen now; it turns versioning on for good"><input type="checkbox" name="object-lock" checked={lock} onChange={(e) => setLock(e.currentTarget.checked)} /> Object Lock</label>
      <button type="submit" class="primary" disabled={action.busy}>Create bucket</button>
      <ErrorLine error={action.error} />
    </form>
  );
}
