import { useState } from 'preact/hooks';
import { admin } from '../api';
import { ErrorLine, formatDate, useAction, useLoad } from '../ui';

interface UserView {
  user: string;
  keys: number;
  activeKeys: number;
  buckets: number;
}

interface KeyView {
  accessKeyId: string;
  user: string;
  status: 'active' | 'disabled';
  createdAt: string;
}

interface NewKey extends KeyView {
  secretAccessKey: string;
}

const enc = encodeURIComponent;

/** Users and access keys (gateway/admin/keys.ts). A new key's secret is shown here once. */
export function UsersPage() {
  const users = useLoad(() => admin<{ users: UserView[] }>('GET', '/users').then((r) => r.users), []);
  const keys = useLoad(() => admin<{ keys: KeyView[] }>('GET', '/keys').then((r) => r.keys), []);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<NewKey | null>(null);
  const action = useAction();
  const reload = (): void => {
    users.reload();
    keys.reload();
  };
  const act = (fn: () => Promise<unknown>): void => void action.run(async () => {
    await fn();
    reload();
  });
  const newKey = (fn: () => Promise<{ key: NewKey }>): void => void action.run(async () => {
    setCreated((await fn()).key);
    reload();
  });
  return (
    <section>
      <h1>Users and keys</h1>
      <form class="inline" id="create-user" onSubmit={(e) => {
        e.preventDefault();
        newKey(() => admin('POST', '/users', { user: name.trim() }));
        setName('');
      }}>
        <input name="user" placeholder="new user name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        <button type="submit" class="primary" disabled={action.busy}>Create user</button>
      </form>
      {created && (
        <div class="card secret" id="new-key" role="alert">
          <h2>New key for {created.user}</h2>
          <p>Copy the secret now: it is shown this once and cannot be read again.</p>
          <dl class="facts">
            <dt>Access key id</dt><dd class="mono">{created.accessKeyId}</dd>
            <dt>Secret access key</dt><dd class="mono">{created.secretAccessKey}</dd>
          </dl>
          <button type="button" onClick={() => setCreated(null)}>I have saved it</button>
        </div>
      )}
      <ErrorLine error={users.error ?? keys.error ?? action.error} />
      {users.data && (
        <table class="list" id="users">
          <thead><tr><th>User</th><th class="num">Keys (active)</th><th class="num">Buckets</th><th class="actions" /></tr></thead>
          <tbody>
            {users.data.map((u) => (
              <tr key={u.user}>
                <td class="name">{u.user}</td>
                <td class="num">{u.keys} ({u.activeKeys})</td>
                <td class="num">{u.buckets}</td>
                <td class="actions">
                  <button type="button" onClick={() => newKey(() => admin('POST', '/keys', { user: u.user }))}>Add key</button>
                  {u.activeKeys > 0
                    ? <button type="button" onClick={() => act(() => admin('POST', `/users/${enc(u.user)}/state`, { state: 'disabled' }))}>Disable</button>
                    : <button type="button" onClick={() => act(() => admin('POST', `/users/${enc(u.user)}/state`, { state: 'active' }))}>Enable</button>}
                  <button type="button" class="danger" onClick={() => {
                    if (confirm(`Delete ${u.user} and all its keys? Its buckets stay.`)) act(() => admin('DELETE', `/users/${enc(u.user)}`));
                  }}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Access keys</h2>
      {keys.data && (
        <table class="list" id="keys">
          <thead><tr><th>Access key id</th><th>User</th><th>State</th><th class="date">Created</th><th class="actions" /></tr></thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.accessKeyId}>
                <td class="mono">{k.accessKeyId}</td>
                <td>{k.user}</td>
                <td>{k.status}</td>
                <td>{formatDate(k.createdAt)}</td>
                <td class="actions">
                  <button type="button" onClick={() => act(() => admin('POST', `/keys/${enc(k.accessKeyId)}/state`, { state: k.status === 'active' ? 'disabled' : 'active' }))}>
                    {k.status === 'active' ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" class="danger" onClick={() => {
                    if (confirm(`Delete the key ${k.accessKeyId}?`)) act(() => admin('DELETE', `/keys/${enc(k.accessKeyId)}`));
                  }}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
