/**
 * A usage row's event, read from the event store through the query API: type, data, metadata and
 * global position — the auditor's step from a figure to the fact behind it.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AccountEvent, UsageRow } from '../shared/api-types';
import type { QueryApi, QueryApiError } from '../shared/query-api';

type Shown = { status: 'loading' } | { status: 'ready'; event: AccountEvent } | { status: 'failed'; message: string };

export function EventDialog(props: { api: QueryApi; accountId: string; row: UsageRow; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [shown, setShown] = useState<Shown>({ status: 'loading' });
  useEffect(() => {
    dialog.current?.showModal();
    props.api.event(props.accountId, props.row.streamRevision).then(
      (event) => setShown({ status: 'ready', event }),
      (error: QueryApiError) => setShown({ status: 'failed', message: error.message }),
    );
  }, [props.row]);
  return (
    <dialog ref={dialog} class="event-dialog" aria-labelledby="event-title" onClose={props.onClose}>
      <header>
        <h2 id="event-title">{props.row.eventType}</h2>
        <form method="dialog">
          <button type="submit" class="quiet" aria-label="Close">
            Close
          </button>
        </form>
      </header>
      {shown.status === 'loading' && <p role="status">Reading the event…</p>}
      {shown.status === 'failed' && <p role="alert">{shown.message}</p>}
      {shown.status === 'ready' && (
        <>
          <dl class="facts">
            <div>
              <dt>Event id</dt>
              <dd>
                <code>{shown.event.eventId}</code>
              </dd>
            </div>
            <div>
              <dt>Type</dt>
              <dd data-field="type">{shown.event.type}</dd>
            </div>
            <div>
              <dt>Stream revision</dt>
              <dd>{shown.event.revision}</dd>
            </div>
            <div>
              <dt>Global position</dt>
              <dd data-field="position">
                <code>{shown.event.position}</code>
              </dd>
            </div>
          </dl>
          <h3>Data</h3>
          <pre data-field="data">{JSON.stringify(shown.event.data, null, 2)}</pre>
          <h3>Metadata</h3>
          <pre data-field="metadata">{JSON.stringify(shown.event.metadata, null, 2)}</pre>
        </>
      )}
    </dialog>
  );
}
