/** The usage ledger's filters (project, kind, dates) and the CSV download of what they select. */
import { useState } from 'preact/hooks';
import { Keep } from '../shared/filters';
import { hrefFor, instantRange, type Place } from '../shared/place';
import type { QueryApi, QueryApiError } from '../shared/query-api';
import { usageKindLabels, usageKinds } from '../shared/usage-kinds';

export function UsageFilters(props: {
  place: Place;
  projects: Array<{ projectId: string; name: string | null }>;
  api: QueryApi;
  accountId: string;
}) {
  const { place } = props;
  return (
    <section class="filters-bar" aria-label="Filters">
      <form method="get" class="filters" aria-label="Usage filters">
        <Keep place={place} except={['project', 'kind', 'from', 'to', 'cursor', 'command', 'run', 'alerts']} />
        <div class="field">
          <label for="project">Project</label>
          <select id="project" name="project" value={place.project ?? ''}>
            <option value="">All projects</option>
            {props.projects.map((p) => (
              <option key={p.projectId} value={p.projectId}>
                {p.name ? `${p.name} (${p.projectId})` : p.projectId}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="kind">Kind</label>
          <select id="kind" name="kind" value={place.kind ?? ''}>
            <option value="">All kinds</option>
            {usageKinds.map((kind) => (
              <option key={kind} value={kind}>
                {usageKindLabels[kind]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="alerts">Alerts</label>
          <select id="alerts" name="alerts" value={place.alerts ?? ''}>
            <option value="">All rows</option>
            <option value="fired">Rows that fired an alert</option>
          </select>
        </div>
        <div class="field">
          <label for="from">From (UTC day)</label>
          <input id="from" name="from" type="date" value={place.from ?? ''} />
        </div>
        <div class="field">
          <label for="to">To (UTC day, inclusive)</label>
          <input id="to" name="to" type="date" value={place.to ?? ''} />
        </div>
        <div class="actions">
          <button type="submit">Apply</button>
          <a class="button quiet" href={hrefFor('usage', { state: place.state, account: place.account })}>
            Clear
          </a>
        </div>
      </form>
      <CsvDownload {...props} />
    </section>
  );
}

/** The file holds every row the filters select, not just this page: the API streams it whole. */
function CsvDownload({ place, api, accountId }: { place: Place; api: QueryApi; accountId: string }) {
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const csv = await api.usageCsv(accountId, {
        project: place.project,
        kind: place.kind,
        command: place.command,
        run: place.run,
        alerts: place.alerts,
        ...instantRange(place),
        atLeastPosition: place.atLeastPosition,
      });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(csv);
      link.download = `usage-${accountId}${place.project ? `-${place.project}` : ''}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      setProblem((error as QueryApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="download">
      <button type="button" onClick={() => void download()} disabled={busy}>
        {busy ? 'Preparing CSV…' : 'Download CSV'}
      </button>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
