/** /workspace/billing: the billing overview of one account, or of one project's share of it. */
import type { AlertRules, Overview } from '../shared/api-types';
import { AccountPicker, ProjectFilter } from '../shared/filters';
import { Frame } from '../shared/frame';
import { ErrorPanel, Loading, NoAccount } from '../shared/panels';
import type { Place } from '../shared/place';
import { useLoad } from '../shared/use-load';
import { resolveWorkspace, type AccountWorkspace, type NoAccountWorkspace } from '../shared/workspace';
import { AlertsPanel, loadAlerts } from './alerts-panel';
import { BalanceBuckets, HeadlineFigures } from './figures';
import { EmptyAccountGuide, isEmptyAccount } from './empty-account';
import { FiguresOverTime } from './figures-over-time';
import { RecentEvents } from './recent-events';
import { RelationshipMap } from './relationship-map';

type Billing =
  | { readonly workspace: NoAccountWorkspace }
  | { readonly workspace: AccountWorkspace; readonly overview: Overview; readonly alerts: AlertRules };

async function loadBilling(place: Place): Promise<Billing> {
  const workspace = await resolveWorkspace(place);
  if (workspace.kind !== 'account') return { workspace };
  const [overview, alerts] = await Promise.all([
    workspace.api.overview(workspace.accountId, {
      project: place.project,
      atLeastPosition: workspace.atLeastPosition,
    }),
    loadAlerts(workspace),
  ]);
  return { workspace, overview, alerts };
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
      {loaded.status === 'ready' &&
        ('overview' in loaded.value ? (
          <BillingContent {...loaded.value} place={place} />
        ) : (
          <NoAccount workspace={loaded.value.workspace} page="billing" />
        ))}
    </Frame>
  );
}

function BillingContent({
  workspace,
  overview,
  alerts,
  place,
}: {
  workspace: AccountWorkspace;
  overview: Overview;
  alerts: AlertRules;
  place: Place;
}) {
  const here: Place = { ...place, state: workspace.state, account: place.account };
  return (
    <div data-account={overview.accountId} data-project={overview.project ?? ''}>
      <section class="account-bar" aria-label="Account summary">
        <p>
          <strong>{overview.name}</strong> <code>{overview.accountId}</code> ·{' '}
          <span class={`status ${overview.status}`}>{overview.status}</span>
          {overview.project && (
            <>
              {' '}
              · showing project <code>{overview.project}</code>’s share
            </>
          )}
        </p>
        <AccountPicker place={here} accounts={workspace.accounts} current={workspace.accountId} />
        {overview.projects.length > 0 && <ProjectFilter place={here} projects={overview.projects} />}
      </section>
      {isEmptyAccount(overview) && <EmptyAccountGuide overview={overview} />}
      <HeadlineFigures overview={overview} />
      <BalanceBuckets overview={overview} />
      <AlertsPanel alerts={alerts} place={here} />
      <FiguresOverTime workspace={workspace} place={here} />
      <RelationshipMap overview={overview} place={here} />
      <RecentEvents events={overview.recentEvents} place={here} />
      <p class="position">
        Read models at position <code>{overview.readModelPosition ?? 'none yet'}</code>
      </p>
    </div>
  );
}
