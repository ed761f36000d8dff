/**
 * The overview's two charts, from the daily figures (GET /v1/accounts/:id/daily): how the balances
 * got where they are, and what each day consumed. Loaded beside the overview, with the same
 * project filter and read-your-writes position; a failure shows here, without hiding the rest.
 */
import type { DailyFigures } from '../shared/api-types';
import { ErrorPanel, Loading } from '../shared/panels';
import type { Place } from '../shared/place';
import { useLoad } from '../shared/use-load';
import type { AccountWorkspace } from '../shared/workspace';
import { BalanceChart } from './balance-chart';
import { ConsumptionChart } from './consumption-chart';

export function FiguresOverTime({ workspace, place }: { workspace: AccountWorkspace; place: Place }) {
  const [loaded, refresh] = useLoad<DailyFigures>(
    () =>
      workspace.api.daily(workspace.accountId, {
        project: place.project,
        atLeastPosition: workspace.atLeastPosition,
      }),
    `daily:${workspace.accountId}:${place.project ?? ''}:${workspace.atLeastPosition ?? ''}`,
  );
  return (
    <section aria-labelledby="over-time-title" class="section" data-over-time>
      <h2 id="over-time-title">Figures over time</h2>
      {loaded.status === 'loading' && <Loading what="the daily figures" />}
      {loaded.status === 'failed' && <ErrorPanel error={loaded.error} onRetry={refresh} />}
      {loaded.status === 'ready' && (
        <div class="charts" data-from={loaded.value.from} data-to={loaded.value.to}>
          <BalanceChart figures={loaded.value} />
          <ConsumptionChart figures={loaded.value} />
        </div>
      )}
    </section>
  );
}
