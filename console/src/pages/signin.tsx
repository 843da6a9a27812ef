import { useState } from 'preact/hooks';
import { signIn } from '../api';
import { ErrorLine, useAction } from '../ui';

/** Access key id and secret; the secret goes to the signer in memory and nowhere else. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      await signIn(id.trim(), secret);
      setSecret('');
      onSignedIn();
    });
  };
  return (
    <div class="signin">
      <form onSubmit={submit} autocomplete="off">
        <h1>shardgate</h1>
        <p class="muted">Sign in with an access key. The secret stays in this tab's memory: a reload or sign-out forgets it.</p>
        <label>Access key id
          <input id="access-key-id" name="access-key-id" value={id} onInput={(e) => setId(e.currentTarget.value)} required spellcheck={false} autocapitalize="off" />
        </label>
        <label>Secret access key
          <input id="secret-access-key" name="secret-access-key" type="password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required autocomplete="off" />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>{action.busy ? 'Signing in…' : 'Sign in'}</button>
        <ErrorLine error={action.error} />
      </form>
    </div>
  );
}
