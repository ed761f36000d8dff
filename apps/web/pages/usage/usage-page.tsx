/** /workspace/usage: the usage ledger of an account, filtered, paged, downloadable, row by row to events. */
import { useState } from 'preact/hooks';
import type { ProjectBuckets, UsagePage as UsageRows, UsageRow } from '../shared/api-types';
import { AccountPicker } from '../shared/filters';
import { Frame } from '../shared/frame';
import { DemoOff, ErrorPanel, Loading, SignIn } from '../shared/panels';
import { hrefFor, instantRange, type Place } from '../shared/place';
import { QueryApiError } from '../shared/query-api';
import { useLoad } from '../shared/use-load';
import { resolveWorkspace, type Workspace } from '../shared/workspace';
import { EventDialog } from './event-dialog';
import { ProjectBreakdown } from './project-breakdown';
import { UsageFilters } from './usage-filters';
import { UsageTable } from './usage-table';

import { USAGE_PAGE_SIZE } from './page-size';

interface Loaded {
  readonly workspace: Workspace;
  readonly rows?: UsageRows;
  readonly breakdown?: ProjectBuckets;
}

async function loadUsage(place: Place): Promise<Loaded> {
  const workspace = await resolveWorkspace(place);
  if (workspace.kind !== 'account') return { workspace };
  const { api, accountId } = workspace;
  const [rows, breakdown] = await Promise.all([
    api.usage(accountId, {
      project: place.project,
      kind: place.kind,
      command: place.command,
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
      {loaded.status === 'ready' && <UsageContent {...loaded.value} place={place} />}
    </Frame>
  );
}

function UsageContent({ workspace, rows, breakdown, place }: Loaded & { place: Place }) {
  const [open, setOpen] = useState<UsageRow | undefined>();
  switch (workspace.kind) {
    case 'error-preview':
      return (
        <ErrorPanel
          error={
            new QueryApiError(
              'unreachable',
              'The ledger’s query API could not be reached. Is the ledger running?',
              null,
            )
          }
          preview
          onRetry={() => location.assign('/workspace/usage')}
        />
      );
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
    case 'account': {
      const here: Place = { ...place, state: workspace.state };
      const projects = breakdown!.projects.map((p) => ({ projectId: p.projectId, name: p.name }));
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
            </p>
            <AccountPicker place={here} accounts={workspace.accounts} current={workspace.accountId} />
          </section>
          <UsageFilters place={here} projects={projects} api={workspace.api} accountId={workspace.accountId} />
          <section aria-labelledby="ledger-title" class="section">
            <h2 id="ledger-title">Ledger rows</h2>
            <UsageTable rows={rows!.rows} onOpen={setOpen} />
            <Pagination place={here} nextCursor={rows!.nextCursor} />
          </section>
          <ProjectBreakdown breakdown={breakdown!} />
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
  }
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
