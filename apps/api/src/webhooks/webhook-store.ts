/**
 * Webhook endpoints and the delivery log in Postgres (libs/database's webhook tables). Defining an
 * endpoint is idempotent the way commands are (docs/idempotency.md): the key's first answer is
 * kept in idempotency_keys, written in the same transaction as the endpoint, and a retry with the
 * same key and body gets it again; the same key with another body is `idempotency_key_reused`.
 */
import { Inject, Injectable } from '@nestjs/common';
import type {
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointDefinition,
  WebhookSecretRotation,
} from '@ledger/contract';
import { WEBHOOKS_CHANNEL, type LedgerDatabase, type WebhookEndpointsTable } from '@ledger/database';
import { reject } from '@ledger/domain';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { LedgerHttpError, type ErrorBody } from '../errors/ledger-http-error';
import { DATABASE } from '../infrastructure/tokens';

export const DEFINE_ENDPOINT = 'DefineWebhookEndpoint';

type EndpointRow = Selectable<WebhookEndpointsTable>;

/** An answer as it is stored for the key: a 200 with the endpoint, or a refusal. */
export type StoredAnswer = { status: 200; body: WebhookEndpoint } | { status: number; body: ErrorBody };

const hintOf = (secret: string): string => `…${secret.slice(-4)}`;

function endpointNotFound(endpointId: string): never {
  throw new LedgerHttpError(
    reject('webhook_endpoint_not_found', `there is no webhook endpoint ${endpointId}`, { endpointId }),
  );
}

/** What the API shows of an endpoint: never a secret, its last four characters at most. */
export function endpointView(row: EndpointRow, now = new Date()): WebhookEndpoint {
  const previous =
    row.previous_secret !== null && row.previous_secret_until !== null && row.previous_secret_until > now
      ? { hint: hintOf(row.previous_secret), until: row.previous_secret_until.toISOString() }
      : null;
  return {
    endpointId: row.endpoint_id,
    url: row.url,
    secretHint: hintOf(row.secret),
    previousSecretHint: previous?.hint ?? null,
    previousSecretUntil: previous?.until ?? null,
    eventTypes: row.event_types as WebhookEndpoint['eventTypes'],
    accounts: row.accounts === null ? '*' : row.accounts,
    status: row.disabled_at === null ? 'enabled' : 'disabled',
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    disabledAt: row.disabled_at?.toISOString() ?? null,
  };
}

const sameDefinition = (row: EndpointRow, definition: WebhookEndpointDefinition): boolean =>
  row.url === definition.url &&
  row.secret === definition.secret &&
  JSON.stringify([...row.event_types].sort()) === JSON.stringify(definition.eventTypes) &&
  JSON.stringify(row.accounts === null ? '*' : [...row.accounts].sort()) === JSON.stringify(definition.accounts);

/** Delivery-log pages continue after the last delivery shown; the cursor names it, opaquely. */
const encodeCursor = (seq: bigint): string => Buffer.from(`d${seq}`).toString('base64url');
function decodeCursor(text: string): bigint {
  const seq = /^d(\d{1,18})$/.exec(Buffer.from(text, 'base64url').toString())?.[1];
  if (seq === undefined) {
    throw new LedgerHttpError(
      reject('validation_failed', 'cursor: not a cursor this API gave out', { field: 'cursor' }),
    );
  }
  return BigInt(seq);
}

/** The most attempts one delivery shows: the latest ones. */
const ATTEMPTS_SHOWN = 50;

@Injectable()
export class WebhookStore {
  constructor(@Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  /** Defines an endpoint under an idempotency key; resolves to the key's (first) answer. */
  async define(
    principalId: string,
    key: string,
    requestHash: string,
    definition: WebhookEndpointDefinition,
  ): Promise<StoredAnswer> {
    return this.db.transaction().execute(async (tx) => {
      // A concurrent request with this key waits here until the first one commits, then reads its answer.
      const claimed = await tx
        .insertInto('idempotency_keys')
        .values({
          principal_id: principalId,
          idempotency_key: key,
          request_hash: requestHash,
          command_type: DEFINE_ENDPOINT,
        })
        .onConflict((oc) => oc.columns(['principal_id', 'idempotency_key']).doNothing())
        .returning('principal_id')
        .executeTakeFirst();
      if (!claimed) {
        const earlier = await tx
          .selectFrom('idempotency_keys')
          .select(['request_hash', 'response_status', 'response_body'])
          .where('principal_id', '=', principalId)
          .where('idempotency_key', '=', key)
          .executeTakeFirstOrThrow();
        if (earlier.request_hash !== requestHash) {
          throw new LedgerHttpError(reject('idempotency_key_reused'));
        }
        if (earlier.response_status === null || earlier.response_body === null) {
          throw new LedgerHttpError(reject('idempotency_key_in_flight'));
        }
        return { status: earlier.response_status, body: JSON.parse(earlier.response_body) } as StoredAnswer;
      }
      const created = await tx
        .insertInto('webhook_endpoints')
        .values({
          endpoint_id: definition.endpointId,
          url: definition.url,
          secret: definition.secret,
          event_types: definition.eventTypes,
          accounts: definition.accounts === '*' ? null : definition.accounts,
          disabled_at: null,
        })
        .onConflict((oc) => oc.column('endpoint_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      let answer: StoredAnswer;
      if (created) {
        answer = { status: 200, body: endpointView(created) };
      } else {
        const existing = await tx
          .selectFrom('webhook_endpoints')
          .selectAll()
          .where('endpoint_id', '=', definition.endpointId)
          .executeTakeFirstOrThrow();
        if (sameDefinition(existing, definition)) {
          answer = { status: 200, body: endpointView(existing) };
        } else {
          const refusal = new LedgerHttpError(
            reject(
              'webhook_endpoint_conflict',
              `webhook endpoint ${definition.endpointId} exists already with another definition`,
              { endpointId: definition.endpointId },
            ),
          );
          answer = { status: refusal.status, body: refusal.body };
        }
      }
      await tx
        .updateTable('idempotency_keys')
        .set({ response_status: answer.status, response_body: JSON.stringify(answer.body), completed_at: new Date() })
        .where('principal_id', '=', principalId)
        .where('idempotency_key', '=', key)
        .execute();
      await sql`SELECT pg_notify(${WEBHOOKS_CHANNEL}, '')`.execute(tx);
      return answer;
    });
  }

  async list(
    after: string | undefined,
    limit: number,
  ): Promise<{ endpoints: WebhookEndpoint[]; nextCursor: string | null }> {
    let query = this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .orderBy('endpoint_id')
      .limit(limit + 1);
    if (after !== undefined) query = query.where('endpoint_id', '>', after);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    return {
      endpoints: page.map((row) => endpointView(row)),
      nextCursor: rows.length > limit ? (page.at(-1)?.endpoint_id ?? null) : null,
    };
  }

  /** Runs `change` in a transaction that also wakes the delivery worker when it commits. */
  private changeAndWake<T>(change: (tx: Transaction<LedgerDatabase>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      const changed = await change(tx);
      await sql`SELECT pg_notify(${WEBHOOKS_CHANNEL}, '')`.execute(tx);
      return changed;
    });
  }

  /** Disables (or enables) an endpoint; doing it twice changes nothing more. */
  async setEnabled(endpointId: string, enabled: boolean): Promise<WebhookEndpoint> {
    const row = await this.changeAndWake((tx) =>
      tx
        .updateTable('webhook_endpoints')
        .set(
          enabled
            ? { disabled_at: null, updated_at: sql<Date>`CASE WHEN disabled_at IS NULL THEN updated_at ELSE now() END` }
            : {
                disabled_at: sql<Date>`coalesce(disabled_at, now())`,
                updated_at: sql<Date>`CASE WHEN disabled_at IS NULL THEN now() ELSE updated_at END`,
              },
        )
        .where('endpoint_id', '=', endpointId)
        .returningAll()
        .executeTakeFirst(),
    );
    return endpointView(row ?? endpointNotFound(endpointId));
  }

  /**
   * Makes `secret` the endpoint's secret; the one it replaces goes on signing deliveries beside it
   * for the time given, so receivers can switch over. The current secret sent again changes
   * nothing: a retried rotation is harmless, and never makes the new secret its own "previous".
   */
  async rotateSecret(endpointId: string, rotation: WebhookSecretRotation): Promise<WebhookEndpoint> {
    const unchanged = sql<boolean>`secret = ${rotation.secret}`;
    const row = await this.db
      .updateTable('webhook_endpoints')
      .set({
        previous_secret: sql<string | null>`CASE WHEN ${unchanged} THEN previous_secret ELSE secret END`,
        previous_secret_until: sql<Date | null>`CASE WHEN ${unchanged} THEN previous_secret_until
          ELSE now() + make_interval(secs => ${rotation.previousSecretValidForSeconds}) END`,
        updated_at: sql<Date>`CASE WHEN ${unchanged} THEN updated_at ELSE now() END`,
        secret: rotation.secret,
      })
      .where('endpoint_id', '=', endpointId)
      .returningAll()
      .executeTakeFirst();
    return endpointView(row ?? endpointNotFound(endpointId));
  }

  async deliveries(filters: {
    endpointId?: string;
    accountId?: string;
    status?: WebhookDeliveryStatus;
    cursor?: string;
    limit: number;
  }): Promise<{ deliveries: WebhookDelivery[]; nextCursor: string | null }> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(filters.limit + 1);
    if (filters.endpointId !== undefined) query = query.where('endpoint_id', '=', filters.endpointId);
    if (filters.accountId !== undefined) query = query.where('account_id', '=', filters.accountId);
    if (filters.status !== undefined) query = query.where('status', '=', filters.status);
    if (filters.cursor !== undefined) query = query.where('seq', '<', decodeCursor(filters.cursor));
    const rows = await query.execute();
    const page = rows.slice(0, filters.limit);
    const views = await this.withAttempts(page);
    const last = page.at(-1);
    return { deliveries: views, nextCursor: rows.length > filters.limit && last ? encodeCursor(last.seq) : null };
  }

  /** Makes a delivery due now, whatever became of it; its retry horizon starts again. */
  async redeliver(deliveryId: string): Promise<WebhookDelivery> {
    const row = await this.changeAndWake((tx) =>
      tx
        .updateTable('webhook_deliveries')
        .set({
          status: 'pending',
          next_attempt_at: sql<Date>`now()`,
          horizon_from: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('delivery_id', '=', deliveryId)
        .returningAll()
        .executeTakeFirst(),
    );
    if (!row) {
      throw new LedgerHttpError(
        reject('webhook_delivery_not_found', `there is no webhook delivery ${deliveryId}`, { deliveryId }),
      );
    }
    const [view] = await this.withAttempts([row]);
    return view!;
  }

  private async withAttempts(
    rows: ReadonlyArray<Selectable<LedgerDatabase['webhook_deliveries']>>,
  ): Promise<WebhookDelivery[]> {
    const ids = rows.map((row) => row.delivery_id);
    const { rows: attempts } =
      ids.length === 0
        ? { rows: [] }
        : await sql<Selectable<LedgerDatabase['webhook_delivery_attempts']>>`
          SELECT * FROM (
            SELECT a.*, row_number() OVER (PARTITION BY delivery_id ORDER BY attempt DESC) AS newest
            FROM webhook_delivery_attempts a WHERE delivery_id = ANY (${ids}::uuid[])
          ) latest WHERE newest <= ${ATTEMPTS_SHOWN} ORDER BY delivery_id, attempt`.execute(this.db);
    return rows.map((row) => ({
      deliveryId: row.delivery_id,
      eventId: row.event_id,
      endpointId: row.endpoint_id,
      eventType: row.event_type as WebhookDelivery['eventType'],
      accountId: row.account_id,
      status: row.status,
      attempts: attempts
        .filter((attempt) => attempt.delivery_id === row.delivery_id)
        .map((attempt) => ({
          attempt: attempt.attempt,
          startedAt: attempt.started_at.toISOString(),
          finishedAt: attempt.finished_at?.toISOString() ?? null,
          statusCode: attempt.status_code,
          error: attempt.error,
          latencyMs: attempt.latency_ms,
          responseSnippet: attempt.response_snippet,
        })),
      nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
      createdAt: row.created_at.toISOString(),
      deliveredAt: row.delivered_at?.toISOString() ?? null,
    }));
  }
}
