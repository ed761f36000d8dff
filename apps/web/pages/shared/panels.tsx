/** What a page shows instead of figures: loading, a failure with a way out, sign-in, nothing yet. */
import { useState } from 'preact/hooks';
import { hrefFor, type PageName } from './place';
import { QueryApiError } from './query-api';
import { signIn } from './session';
import type { NoAccountWorkspace } from './workspace';

export function Loading({ what }: { what: string }) {
  return (
    <p class="panel" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorPanel(props: { error: QueryApiError; onRetry: () => void; preview?: boolean }) {
  const { error } = props;
  return (
    <section class="panel error" role="alert" aria-labelledby="error-title" data-state="error">
      <h2 id="error-title">{error.status === null ? 'The ledger cannot be reached' : 'The ledger could not answer'}</h2>
      {props.preview && (
        <p class="note">
          This is the error state: what this page shows when the query API fails, instead of stale or partial figures.
        </p>
      )}
      <p>{error.message}</p>
      <p class="meta">
        Code <code>{error.code}</code>
        {error.status !== null && <> · HTTP {error.status}</>}
      </p>
      <p>No figures are shown until the ledger answers again: a balance you cannot confirm is not shown as one.</p>
      <button type="button" onClick={props.onRetry}>
        Retry
      </button>
    </section>
  );
}

function SignIn({ problem }: { problem?: string }) {
  const [key, setKey] = useState('');
  return (
    <section class="panel" aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">Sign in to see your account</h2>
      <p>
        The live state reads the account your API key may read. The key stays in this browser tab and is sent only to
        this ledger’s query API.
      </p>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
      <form
        class="sign-in"
        onSubmit={(event) => {
          event.preventDefault();
          signIn(key.trim());
          location.reload();
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}

function DemoOff() {
  return (
    <section class="panel" aria-labelledby="demo-off-title">
      <h2 id="demo-off-title">The demo workspace is turned off</h2>
      <p>
        This ledger runs with <code>LEDGER_DEMO=off</code>, so it has no demo accounts. Choose <em>Live</em> and sign in
        with an API key to see a real account.
      </p>
    </section>
  );
}

const PREVIEW_ERROR = new QueryApiError(
  'unreachable',
  'The ledger’s query API could not be reached. Is the ledger running?',
  null,
);

/** What a page shows in place of an account: the error preview, sign-in, or why there is none. */
export function NoAccount({ workspace, page }: { workspace: NoAccountWorkspace; page: PageName }) {
  switch (workspace.kind) {
    case 'error-preview':
      return <ErrorPanel error={PREVIEW_ERROR} preview onRetry={() => location.assign(hrefFor(page, {}))} />;
    case 'demo-off':
      return <DemoOff />;
    case 'sign-in':
      return <SignIn problem={workspace.problem} />;
    case 'no-accounts':
      return (
        <p class="panel">
          The key of <strong>{workspace.principal}</strong> may not read any billing account yet.
        </p>
      );
  }
}
