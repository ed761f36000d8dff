/** The latest billing events (accepted runs, grants, holds…), each a step into the usage ledger. */
import { formatAmount, formatInstant } from '../shared/amounts';
import type { RecentEvent } from '../shared/api-types';
import { hrefFor, type Place } from '../shared/place';

export function RecentEvents({ events, place }: { events: RecentEvent[]; place: Place }) {
  const scope: Place = { state: place.state, account: place.account, project: place.project };
  const ledger = hrefFor('usage', scope);
  return (
    <section aria-labelledby="events-title" class="section">
      <h2 id="events-title">Recent billing events</h2>
      <p class="lede">
        Accepted runs, grants, holds and their outcomes, newest first. Each opens the rows it moved in the{' '}
        <a href={ledger}>usage ledger</a>.
      </p>
      {events.length === 0 ? (
        <p class="panel quiet-panel">No billing events yet.</p>
      ) : (
        <div class="table-scroll">
          <table class="events">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Kind</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.eventId} data-event-id={event.eventId}>
                  <td data-label="Event">
                    {event.commandId ? (
                      <a href={hrefFor('usage', { ...scope, command: event.commandId })}>{event.summary}</a>
                    ) : (
                      event.summary
                    )}
                  </td>
                  <td data-label="Kind">{event.type}</td>
                  <td data-label="Amount" class="num">
                    {event.amount === null ? '—' : formatAmount(event.amount)}
                  </td>
                  <td data-label="Created">
                    <time dateTime={event.createdAt}>{formatInstant(event.createdAt)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
