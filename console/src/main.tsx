import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentUser, signOut } from './api';
import { ActivityPage } from './pages/activity';
import { BucketsPage } from './pages/buckets';
import { BrowserPage } from './pages/browser';
import { ClusterPage } from './pages/cluster';
import { LedgerPage } from './pages/ledger';
import { ObjectPage } from './pages/object';
import { SettingsPage } from './pages/settings';
import { SignIn } from './pages/signin';
import { UsersPage } from './pages/users';
import { href } from './ui';
import { uploader } from './upload';
import { UploadPanel } from './upload-panel';

// Leaving with uploads in progress asks first; a multipart upload cut off can still be resumed.
addEventListener('beforeunload', (e) => {
  if (uploader.totals().active) e.preventDefault();
});

function route(): string[] {
  return location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
}

function Page({ parts, root }: { parts: string[]; root: boolean }) {
  const [page, a, b] = parts;
  switch (page) {
    case 'b':
      return a ? <BrowserPage bucket={a} prefix={b ?? ''} /> : <BucketsPage />;
    case 'settings':
      return a ? <SettingsPage bucket={a} /> : <BucketsPage />;
    case 'object':
      return a && b !== undefined ? <ObjectPage bucket={a} objectKey={b} /> : <BucketsPage />;
    case 'users':
      return root ? <UsersPage /> : <RootOnly />;
    case 'cluster':
      return root ? <ClusterPage /> : <RootOnly />;
    case 'activity':
      return root ? <ActivityPage /> : <RootOnly />;
    case 'ledger':
      return root ? <LedgerPage /> : <RootOnly />;
    default:
      return <BucketsPage />;
  }
}

function RootOnly() {
  return <p class="error">This page is for the root credentials only. Sign in with them to see it.</p>;
}

function App() {
  const [user, setUser] = useState(currentUser());
  const [parts, setParts] = useState(route());
  useEffect(() => {
    const on = (): void => setParts(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  if (!user) return <SignIn onSignedIn={() => setUser(currentUser())} />;
  const page = parts[0] ?? 'buckets';
  const tab = (name: string, label: string, active: boolean) => (
    <a href={href(name)} class={active ? 'active' : undefined} aria-current={active ? 'page' : undefined}>{label}</a>
  );
  return (
    <div class="shell">
      <header>
        <strong class="brand">shardgate</strong>
        <nav>
          {tab('buckets', 'Buckets', ['buckets', 'b', 'settings', 'object'].includes(page))}
          {user.root && tab('users', 'Users', page === 'users')}
          {user.root && tab('cluster', 'Cluster', page === 'cluster')}
          {user.root && tab('activity', 'Activity', page === 'activity')}
          {user.root && tab('ledger', 'Ledger', page === 'ledger')}
        </nav>
        <span class="who" title={user.accessKeyId}>{user.root ? 'root' : user.accessKeyId}</span>
        <button type="button" id="sign-out" onClick={() => {
          if (uploader.totals().active && !confirm('Uploads are in progress. Signing out cancels them. Sign out?')) return;
          // The uploads' multipart aborts are signed: they go before the keys are dropped.
          void uploader.cancelAll().finally(() => {
            signOut();
            setUser(null);
          });
        }}>Sign out</button>
      </header>
      <main>
        <Page parts={parts} root={user.root} />
      </main>
      <UploadPanel />
    </div>
  );
}

render(<App />, document.getElementById('app')!);
