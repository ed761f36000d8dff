/** /workspace/billing: the billing overview of one account, or of one project's share of it. */
import type { Overview } from '../shared/api-types';
import { AccountPicker, ProjectFilter } from '../shared/filters';
import { Frame } from '../shared/frame';
import { DemoOff, ErrorPanel, Loading, SignIn } from '../shared/panels';
import type { Place } from '../shared/place';
import { QueryApiError } from '../shared/query-api';
import { useLoad } from '../shared/use-load';
import { resolveWorkspace, type Workspace } from '../shared/workspace';
import { BalanceBuckets, HeadlineFigures } from './figures';
import { EmptyAccountGuide, isEmptyAccount } from './empty-account';
import { RecentEvents } from './recent-events';
import { RelationshipMap } from './relationship-map';

const PREVIEW_ERROR = new QueryApiError(
  'unreachable',
  'The ledger’s query API could not be reached. Is the ledger running?',
  null,
);

async function loadBilling(place: Place): Promise<{ workspace: Workspace; overview?: Overview }> {
  const workspace = await resolveWorkspace(place);
  if (workspace.kind !== 'account') return { workspace };
  const overview = await workspace.api.overview(workspace.accountId, {
    project: place.project,
    atLeastPosition: workspace.atLeastPosition,
  });
  return { workspace, overview };
}

export function BillingPage({ place }: { place: Place }) {
  const [loaded, refresh] = useLoad(() => loadBilling(place), 'billing');
  const state = loaded.status === 'ready' ? loaded.value.workspace.state : place.state;
  return (
    <Frame page="billing" place={place} state={state} onRefresh={refresh}>
      <header class="page-head">
        <p class="eyebrow">Billing overview</p>
        <h1>Billing</h1>
        <p class="lede">
          The commercial source of truth for an account: subscription posture, included credits, accepted execution
          reservations, usage and settlement, all computed from the ledger’s events.
        </p>
        <p class="boundary">
          Service boundary: <code>credit-ledger</code> · read from the query API <code>/v1</code>
        </p>
      </header>
      {loaded.status === 'loading' && <Loading what="the billing overview" />}
      {loaded.status === 'failed' && <ErrorPanel error={loaded.error} onRetry={refresh} />}
      {loaded.status === 'ready' && <BillingContent {...loaded.value} place={place} />}
    </Frame>
  );
}

function BillingContent({ workspace, overview, place }: { workspace: Workspace; overview?: Overview; place: Place }) {
  switch (workspace.kind) {
    case 'error-preview':
      return <ErrorPanel error={PREVIEW_ERROR} preview onRetry={() => location.assign('/workspace/billing')} />;
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
      const here: Place = { ...place, state: workspace.state, account: place.account };
      return (
        <div data-account={overview!.accountId} data-project={overview!.project ?? ''}>
          <section class="account-bar" aria-label="Account summary">
            <p>
              <strong>{overview!.name}</strong> <code>{overview!.accountId}</code> ·{' '}
              <span class={`status ${overview!.status}`}>{overview!.status}</span>
              {overview!.project && (
                <>
                  {' '}
                  · showing project <code>{overview!.project}</code>’s share
                </>
              )}
            </p>
            <AccountPicker place={here} accounts={workspace.accounts} current={workspace.accountId} />
            {overview!.projects.length > 0 && <ProjectFilter place={here} projects={overview!.projects} />}
          </section>
          {isEmptyAccount(overview!) && <EmptyAccountGuide overview={overview!} />}
          <HeadlineFigures overview={overview!} />
          <BalanceBuckets overview={overview!} />
          <RelationshipMap overview={overview!} place={here} />
          <RecentEvents events={overview!.recentEvents} place={here} />
          <p class="position">
            Read models at position <code>{overview!.readModelPosition ?? 'none yet'}</code>
          </p>
        </div>
      );
    }
  }
}
