import { useEffect, useState } from 'preact/hooks';
import { formatBytes } from './ui';
import { uploader } from './upload';

/** Per-file and total progress of the page's uploads, on every page. */
export function UploadPanel() {
  const [, setTick] = useState(0);
  useEffect(() => uploader.subscribe(() => setTick((n) => n + 1)), []);
  if (!uploader.jobs.length) return null;
  const t = uploader.totals();
  return (
    <aside class="uploads" id="uploads" aria-label="Uploads">
      <div class="uploads-head">
        <strong>Uploads</strong>
        <span id="upload-total">{t.active ? `${t.active} in progress, ` : 'all finished, '}{formatBytes(t.loaded)} of {formatBytes(t.size)}</span>
        <progress max={t.size || 1} value={t.loaded} />
        <button type="button" onClick={() => uploader.clearFinished()} disabled={t.active === uploader.jobs.length}>Clear finished</button>
      </div>
      <ul>
        {uploader.jobs.map((j) => (
          <li key={j.id} class={`upload ${j.state}`} data-key={j.key} data-state={j.state}>
            <span class="name" title={j.key}>{j.key}</span>
            <progress max={j.file.size || 1} value={j.state === 'done' ? j.file.size || 1 : j.loaded} />
            <span class="state">
              {j.state === 'uploading' ? `${formatBytes(j.loaded)} of ${formatBytes(j.file.size)}${j.resumedParts ? ` (resumed: ${j.resumedParts} parts were there)` : ''}` : j.state}
            </span>
            {(j.state === 'queued' || j.state === 'uploading') && <button type="button" onClick={() => j.cancel()}>Cancel</button>}
            {j.error && <span class="error">{j.error}</span>}
          </li>
        ))}
      </ul>
    </aside>
  );
}
