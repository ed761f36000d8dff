/**
 * The `webhooks` projection: the outbox of webhook deliveries (webhook_outbox), one row per event
 * a receiver may subscribe to — today every AlertFired, as `alert.fired`. Each row holds the exact
 * text every delivery of it sends, so that what is signed and sent is decided here, from the event
 * alone: a rebuild writes the same rows (same ids, same text), and the delivery worker, which fans
 * rows out into deliveries of its own (libs/database, webhook_deliveries), never sends one twice
 * because of it. Written with the checkpoint, like every projection: an alert is in the outbox
 * exactly when the projector has passed its event.
 */
import { encodeEventData } from '@ledger/domain';
import type { WebhookEventType } from '@ledger/contract';
import type { Selectable } from 'kysely';
import type { Projection, ProjectedEvent } from './projection';
import type { WebhookOutboxTable } from './read-models';
import { insertRows, writesOf, writtenBy, type Handlers, type RowColumns } from './shared';

export type OutboxRow = Selectable<WebhookOutboxTable>;

/**
 * The delivery body: the event's id (the receiver's deduplication key), what fired and when, and
 * under `data` the event's encoded fields besides those (threshold, observed, subject first).
 */
export function alertFiredBody(recorded: ProjectedEvent): string {
  const { accountId, ruleId, kind, threshold, observed, subject, ...rest } = encodeEventData(recorded.event) as Record<
    string,
    unknown
  >;
  return JSON.stringify({
    id: recorded.metadata.eventId,
    type: 'alert.fired' satisfies WebhookEventType,
    accountId,
    ruleId,
    kind,
    occurredAt: new Date(recorded.metadata.occurredAt).toISOString(),
    data: { threshold, observed, subject, ...rest },
  });
}

export const webhookHandlers: Handlers<OutboxRow> = {
  AlertFired: ({ accountId, ruleId }, at) => [
    {
      event_id: at.metadata.eventId,
      event_type: 'alert.fired',
      account_id: accountId,
      rule_id: ruleId,
      body: alertFiredBody(at),
      occurred_at: new Date(at.metadata.occurredAt),
      ...writtenBy(at),
    },
  ],
};

const outboxColumns: RowColumns<OutboxRow> = {
  event_id: true,
  event_type: true,
  account_id: true,
  rule_id: true,
  body: true,
  occurred_at: true,
  position_commit: true,
  position_prepare: true,
};

/**
 * Notified when a batch wrote outbox rows, and by the API when endpoints or deliveries change: the
 * delivery worker looks at once.
 */
export const WEBHOOKS_CHANNEL = 'ledger_webhooks';

export const webhooksProjection: Projection = {
  name: 'webhooks',
  tables: ['webhook_outbox'],
  announces: WEBHOOKS_CHANNEL,
  queryOnlyIndexes: ['webhook_outbox_position'],
  async applyBatch(events, db) {
    const rows = events.flatMap((recorded) => writesOf(webhookHandlers, recorded));
    await insertRows(db, 'webhook_outbox', outboxColumns, rows);
  },
};
