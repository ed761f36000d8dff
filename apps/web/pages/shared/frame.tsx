/** The frame around both pages: the product's header, the page switch, and the state switch. */
import type { ComponentChildren } from 'preact';
import { hrefFor, workspaceStates, type PageName, type Place, type WorkspaceState } from './place';
import { signedInKey, signOut } from './session';

const pages: Array<{ page: PageName; label: string }> = [
  { page: 'billing', label: 'Billing overview' },
  { page: 'usage', label: 'Usage ledger' },
];

const stateLabels: Record<WorkspaceState, string> = { demo: 'Demo', live: 'Live', empty: 'Empty', error: 'Error' };

export function Frame(props: {
  page: PageName;
  place: Place;
  state: WorkspaceState | undefined;
  onRefresh?: () => void;
  children: ComponentChildren;
}) {
  const { page, place, state } = props;
  return (
    <>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="top">
        <p class="product">Credit ledger</p>
        <nav aria-label="Workspace">
          <ul class="tabs">
            {pages.map((p) => (
              <li key={p.page}>
                <a
                  href={hrefFor(p.page, { state, account: place.account })}
                  aria-current={p.page === page ? 'page' : undefined}
                >
                  {p.label}
                </a>
              </li>
            ))}
            <li>
              <a href="/docs">API reference</a>
            </li>
          </ul>
        </nav>
        {signedInKey() && (
          <button
            type="button"
            class="quiet"
            onClick={() => {
              signOut();
              location.assign(hrefFor(page, {}));
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main id="content">
        <div class="state-bar">
          <nav aria-label="Page state" class="state-switch">
            <span class="label">State</span>
            <ul>
              {workspaceStates.map((s) => (
                <li key={s}>
                  <a href={hrefFor(page, { state: s })} aria-current={s === state ? 'true' : undefined}>
                    {stateLabels[s]}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          {props.onRefresh && (
            <button type="button" class="quiet" onClick={props.onRefresh}>
              Refresh
            </button>
          )}
        </div>
        {props.children}
      </main>
    </>
  );
}
