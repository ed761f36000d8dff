/** /workspace/usage: the usage ledger of an account, filtered, paged, downloadable, row by row to events. */
import { useState } from 'preact/hooks';
import type { ProjectBuckets, UsagePage as UsageRows, UsageRow } from '../shared/api-types';
import { AccountPicker } from '../shared/filters';
import { Frame } from '../shared/frame';
import { ErrorPanel, Loading, NoAccount } from '../shared/panels';
import { hrefFor, instantRange, type Place } from '../shared/place';
import { useLoad } from '../shared/use-load';
import { resolveWorkspace, type AccountWorkspace, type NoAccountWorkspace } from '../shared/workspace';
import { EventDialog } from './event-dialog';
import { ProjectBreakdown } from './project-breakdown';
import { UsageFilters } from './usage-filters';
import { UsageTable } from './usage-table';

import { USAGE_PAGE_SIZE } from './page-size';

type Usage =
  | { readonly workspace: NoAccountWorkspace }
  | { readonly workspace: AccountWorkspace; readonly rows: UsageRows; readonly breakdown: ProjectBuckets };

async function loadUsage(place: Place): Promise<Usage> {
  const workspace = await resolveWorkspace(place);
  if (workspace.kind !== 'account') return { workspace };
  const { api, accountId } = workspace;
  const [rows, breakdown] = await Promise.all([
    api.usage(accountId, {
      project: place.project,
      kind: place.kind,
      command: place.command,
      run: place.run,
      alerts: place.alerts,
      ...instantRange(place),
      cursor: place.cursor,
      limit: USAGE_PAGE_SIZE,
      atLeastPosition: workspace.atLeastPosition,
    }),
    api.projects(accountId, { atLeastPosition: workspace.atLeastPosition }),
  ]);
  return { workspace, rows, breakdown };
}

export function UsagePage({ place }: { place: Place }) {
  const [loaded, refresh] = useLoad(() => loadUsage(place), 'usage');
  const state = loaded.status === 'ready' ? loaded.value.workspace.state : place.state;
  return (
    <Frame page="usage" place={place} state={state} onRefresh={refresh}>
      <header class="page-head">
        <p class="eyebrow">Usage ledger</p>
        <h1>Usage</h1>
        <p class="lede">
          One row per money movement — grants, reservations, consumption, releases, holds, expiries — each from exactly
          one event. Summing the rows gives every figure on the billing overview.
        </p>
      </header>
      {loaded.status === 'loading' && <Loading what="the usage ledger" />}
      {loaded.status === 'failed' && <ErrorPanel error={loaded.error} onRetry={refresh} />}
      {loaded.status === 'ready' &&
        ('rows' in loaded.value ? (
          <UsageContent {...loaded.value} place={place} />
        ) : (
          <NoAccount workspace={loaded.value.workspace} page="usage" />
        ))}
    </Frame>
  );
}

function UsageContent({
  workspace,
  rows,
  breakdown,
  place,
}: {
  workspace: AccountWorkspace;
  rows: UsageRows;
  breakdown: ProjectBuckets;
  place: Place;
}) {
  const [open, setOpen] = useState<UsageRow | undefined>();
  const here: Place = { ...place, state: workspace.state };
  const projects = breakdown.projects.map((p) => ({ projectId: p.projectId, name: p.name }));
  return (
    <div data-account={workspace.accountId}>
      <section class="account-bar" aria-label="Account summary">
        <p>
          Account <code>{workspace.accountId}</code>
          {place.command && (
            <>
              {' '}
              · the rows of command <code>{place.command}</code>
            </>
          )}
          {place.alerts === 'fired' && <> · only the rows of commands that fired an alert</>}
        </p>
        <AccountPicker place={here} accounts={workspace.accounts} current={workspace.accountId} />
      </section>
      <UsageFilters place={here} projects={projects} api={workspace.api} accountId={workspace.accountId} />
      <section aria-labelledby="ledger-title" class="section">
        <h2 id="ledger-title">Ledger rows</h2>
        <UsageTable rows={rows.rows} place={here} onOpen={setOpen} />
        <Pagination place={here} nextCursor={rows.nextCursor} />
      </section>
      <ProjectBreakdown breakdown={breakdown} />
      {open && (
        <EventDialog
          api={workspace.api}
          accountId={workspace.accountId}
          row={open}
          onClose={() => setOpen(undefined)}
        />
      )}
    </div>
  );
}

function Pagination({ place, nextCursor }: { place: Place; nextCursor: string | null }) {
  if (!place.cursor && !nextCursor) return null;
  return (
    <nav class="pagination" aria-label="Ledger pages">
      {place.cursor && (
        <>
          <a href={hrefFor('usage', { ...place, cursor: undefined })}>Newest rows</a>
          <button type="button" class="quiet" onClick={() => history.back()}>
            ← Newer
          </button>
        </>
      )}
      {nextCursor && (
        <a href={hrefFor('usage', { ...place, cursor: nextCursor })} rel="next">
          Older →
        </a>
      )}
    </nav>
  );
}
