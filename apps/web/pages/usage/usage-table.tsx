/** The usage ledger's rows, newest first; each opens the event that moved the money. */
import { formatAmount, formatInstant } from '../shared/amounts';
import type { UsageRow } from '../shared/api-types';
import { hrefFor, type Place } from '../shared/place';
import { usageKindLabels } from '../shared/usage-kinds';

export function UsageTable(props: { rows: UsageRow[]; place: Place; onOpen: (row: UsageRow) => void }) {
  const { rows, place, onOpen } = props;
  if (rows.length === 0) return <p class="panel quiet-panel">No ledger rows match these filters.</p>;
  return (
    <div class="table-scroll">
      <table class="ledger">
        <caption class="visually-hidden">Usage ledger rows, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Kind</th>
            <th scope="col">Run</th>
            <th scope="col">Project</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col" class="num">
              Balance after
            </th>
            <th scope="col">Principal</th>
            <th scope="col">Event</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.eventId}:${row.entryIndex}`} data-event-id={row.eventId} data-kind={row.kind}>
              <td data-label="Time">
                <time dateTime={row.occurredAt}>{formatInstant(row.occurredAt)}</time>
              </td>
              <td data-label="Kind">{usageKindLabels[row.kind]}</td>
              <td data-label="Run">
                {row.runId ? (
                  <a href={hrefFor('usage', { state: place.state, account: place.account, run: row.runId })}>
                    {row.runId}
                  </a>
                ) : (
                  (row.grantId ?? '—')
                )}
              </td>
              <td data-label="Project">{row.projectId ?? 'account-wide'}</td>
              <td data-label="Amount" class="num">
                {formatAmount(row.amount)}
              </td>
              <td data-label="Balance after" class="num">
                {formatAmount(row.availableAfter)}
              </td>
              <td data-label="Principal">{row.principal}</td>
              <td data-label="Event">
                <button
                  type="button"
                  class="link"
                  onClick={() => onOpen(row)}
                  aria-label={`Open event ${row.eventId} (${row.eventType})`}
                >
                  <code>{row.eventId.slice(0, 8)}</code>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
