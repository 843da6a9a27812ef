import { useEffect, useRef, useState } from 'preact/hooks';
import { objectPath, presign } from '../api';
import { deleteObjects, listPage, type ListPage } from '../s3ops';
import { ErrorLine, formatBytes, formatDate, go, href, Notice, useAction, useLoad } from '../ui';
import { abortInterrupted, pendingResumes, uploader } from '../upload';

const PAGE_SIZES = [50, 200, 1000];

/** Download through a presigned link: the browser streams it to disk, nothing is held in the page. */
export async function download(bucket: string, key: string, versionId?: string): Promise<void> {
  const link = await presign(objectPath(bucket, key), 300, versionId ? { versionId } : undefined);
  const a = document.createElement('a');
  a.href = link;
  a.download = key.slice(key.lastIndexOf('/') + 1) || 'download';
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/** Files of a drop, folders walked (their paths kept), as the browser gives them. */
async function droppedFiles(items: DataTransferItemList): Promise<Array<{ path: string; file: File }>> {
  const out: Array<{ path: string; file: File }> = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path: path + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${path}${entry.name}/`);
      }
    }
  };
  const entries = Array.from(items).map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  for (const e of entries) await walk(e, '');
  return out;
}

function Breadcrumbs({ bucket, prefix }: { bucket: string; prefix: string }) {
  const parts = prefix.split('/').filter((_, i, a) => i < a.length - 1);
  return (
    <nav class="crumbs" aria-label="Folder">
      <a href={href('buckets')}>Buckets</a> / <a href={href('b', bucket)}>{bucket}</a>
      {parts.map((p, i) => (
        <span key={i}> / <a href={href('b', bucket, parts.slice(0, i + 1).join('/') + '/')}>{p}</a></span>
      ))}
    </nav>
  );
}

export function BrowserPage({ bucket, prefix }: { bucket: string; prefix: string }) {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  // Tokens of the pages before the one shown: Previous pops, Next pushes.
  const [tokens, setTokens] = useState<Array<string | undefined>>([undefined]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dragging, setDragging] = useState(false);
  const [pageSize, setPageSize] = useState(200);
  const action = useAction();
  const token = tokens[tokens.length - 1];
  const listed = useLoad<ListPage>(() => listPage(bucket, prefix + applied, token, pageSize), [bucket, prefix, applied, token, pageSize]);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    setTokens([undefined]);
    setSelected(new Set());
    setSearch('');
    setApplied('');
  }, [bucket, prefix]);
  useEffect(() => {
    uploader.onDone = (b) => {
      if (b === bucket) listed.reload();
    };
    return () => {
      uploader.onDone = undefined;
    };
  }, [bucket, listed.reload]);
  useEffect(() => {
    // webkitdirectory is not in Preact's attribute types; set it on the element.
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);

  const upload = (files: Array<{ path: string; file: File }>): void => {
    if (files.length) uploader.add(bucket, files.map(({ path, file }) => ({ key: prefix + path, file })));
  };
  const fromInput = (input: HTMLInputElement): void => {
    upload(Array.from(input.files ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file })));
    input.value = '';
  };
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    const dt = e.dataTransfer;
    if (!dt) return;
    // Without entries (no folder support, or a synthetic drop) the plain file list still works.
    const plain = Array.from(dt.files, (file) => ({ path: file.name, file }));
    void droppedFiles(dt.items).then((walked) => upload(walked.length ? walked : plain), (err: unknown) => action.setError(String(err)));
  };
  const toggle = (key: string): void => {
    const next = new Set(selected);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setSelected(next);
  };
  const deleteSelected = (): void => {
    const keys = [...selected];
    if (!keys.length || !confirm(`Delete ${keys.length} object${keys.length > 1 ? 's' : ''}?`)) return;
    void action.run(async () => {
      const failed = await deleteObjects(bucket, keys.map((key) => ({ key })));
      setSelected(new Set());
      listed.reload();
      if (failed.length) throw new Error(`${failed.length} could not be deleted, e.g. ${failed[0]!.key}: ${failed[0]!.message}`);
    });
  };
  const newFolder = (): void => {
    const name = prompt('Folder name')?.trim().replace(/\/+$/, '');
    if (!name) return;
    // S3 has no folders: a prefix exists while a key is under it. Go there; an upload makes it stay.
    go('b', bucket, `${prefix}${name}/`);
  };
  const page = listed.data;
  const resumable = pendingResumes().filter((r) => r.bucket === bucket);
  return (
    <section class={dragging ? 'browser dragging' : 'browser'} onDragOver={(e) => {
      e.preventDefault();
      setDragging(true);
    }} onDragLeave={() => setDragging(false)} onDrop={onDrop}>
      <Breadcrumbs bucket={bucket} prefix={prefix} />
      <div class="toolbar">
        <form class="inline" onSubmit={(e) => {
          e.preventDefault();
          setTokens([undefined]);
          setApplied(search);
        }}>
          <input type="search" name="search" placeholder={`Search by prefix in ${prefix || '/'}`} value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </form>
        <span class="spacer" />
        <button type="button" class="primary" onClick={() => fileInput.current?.click()}>Upload files</button>
        <button type="button" onClick={() => folderInput.current?.click()}>Upload folder</button>
        <button type="button" onClick={newFolder}>New folder</button>
        <button type="button" class="danger" id="delete-selected" disabled={!selected.size || action.busy} onClick={deleteSelected}>Delete selected ({selected.size})</button>
        <a href={href('settings', bucket)}>Bucket settings</a>
        <input ref={fileInput} type="file" multiple hidden id="file-input" onChange={(e) => fromInput(e.currentTarget)} />
        <input ref={folderInput} type="file" multiple hidden id="folder-input" onChange={(e) => fromInput(e.currentTarget)} />
      </div>
      {resumable.length > 0 && (
        <Notice>
          {resumable.length} upload{resumable.length > 1 ? 's were' : ' was'} interrupted ({resumable.map((r) => r.name).join(', ')}). Choose the same file{resumable.length > 1 ? 's' : ''} again in the same folder to continue where {resumable.length > 1 ? 'they' : 'it'} stopped,
          {' '}or <button type="button" class="link" id="abort-interrupted" onClick={() => void action.run(async () => {
            for (const r of resumable) await abortInterrupted(r);
            listed.reload();
          })}>abort {resumable.length > 1 ? 'them' : 'it'}</button>.
        </Notice>
      )}
      <ErrorLine error={listed.error ?? action.error} />
      <p class="muted drop-hint">Drop files or folders here to upload them to {prefix || 'the top of the bucket'}.</p>
      {page && (
        <table class="list objects" id="objects">
          <thead><tr><th class="check" /><th>Name</th><th class="num">Size</th><th class="date">Last modified</th><th class="actions" /></tr></thead>
          <tbody>
            {prefix && !applied && tokens.length === 1 && (
              <tr><td /><td class="name"><a href={href('b', bucket, prefix.slice(0, prefix.slice(0, -1).lastIndexOf('/') + 1))}>..</a></td><td /><td /><td /></tr>
            )}
            {page.folders.map((f) => (
              <tr key={'d' + f} class="folder" data-prefix={f}>
                <td />
                <td class="name"><a href={href('b', bucket, f)}>{f.slice(prefix.length)}</a></td>
                <td class="num">folder</td><td /><td />
              </tr>
            ))}
            {page.objects.map((o) => (
              <tr key={'o' + o.key} data-key={o.key}>
                <td class="check"><input type="checkbox" aria-label={`Select ${o.key}`} checked={selected.has(o.key)} onChange={() => toggle(o.key)} /></td>
                <td class="name"><a href={href('object', bucket, o.key)}>{o.key.slice(prefix.length) || o.key}</a></td>
                <td class="num">{formatBytes(o.size)}</td>
                <td>{formatDate(o.lastModified)}</td>
                <td class="actions">
                  <button type="button" class="download" onClick={() => void action.run(() => download(bucket, o.key))}>Download</button>
                </td>
              </tr>
            ))}
            {page.folders.length === 0 && page.objects.length === 0 && (
              <tr><td /><td colSpan={4} class="muted">{applied ? `Nothing starts with "${prefix + applied}".` : 'This folder is empty: upload files or drop them here.'}</td></tr>
            )}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button type="button" disabled={tokens.length <= 1 || listed.loading} onClick={() => setTokens(tokens.slice(0, -1))}>Previous</button>
        <span class="muted">Page {tokens.length}{listed.loading ? ' (loading…)' : ''}</span>
        <button type="button" disabled={!page?.nextToken || listed.loading} onClick={() => setTokens([...tokens, page!.nextToken])}>Next</button>
        <label class="muted">Per page <select name="page-size" value={pageSize} onChange={(e) => {
          setTokens([undefined]);
          setPageSize(Number(e.currentTarget.value));
        }}>{PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}</select></label>
      </div>
    </section>
  );
}
