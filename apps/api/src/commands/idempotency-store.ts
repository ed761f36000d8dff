/**
 * The first answer to every idempotency key, kept in Postgres for at least a day so it survives
 * restarts. A key is claimed before its command runs, so two concurrent requests with one key
 * cannot both run it.
 */
import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely } from 'kysely';
import { DATABASE } from '../infrastructure/tokens';
import type { LedgerDatabase } from '../infrastructure/database';

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'answered'; requestHash: string; status: number; body: unknown }
  | { kind: 'in_flight'; requestHash: string };

/** A claim older than this whose process never answered is taken over (the stream still dedupes). */
const STALE_CLAIM_SECONDS = 30;
/** Answers are kept at least this long (the promise to callers is 24 hours). */
export const ANSWER_RETENTION_HOURS = 72;

@Injectable()
export class IdempotencyStore {
  constructor(@Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  async claim(principalId: string, key: string, requestHash: string, commandType: string): Promise<Claim> {
    const inserted = await this.db
      .insertInto('idempotency_keys')
      .values({ principal_id: principalId, idempotency_key: key, request_hash: requestHash, command_type: commandType })
      .onConflict((oc) =>
        oc
          .columns(['principal_id', 'idempotency_key'])
          .doUpdateSet({ created_at: sql`now()` })
          .where(
            sql<boolean>`idempotency_keys.response_status IS NULL AND idempotency_keys.created_at < now() - make_interval(secs => ${STALE_CLAIM_SECONDS})`,
          ),
      )
      .returning(['request_hash'])
      .executeTakeFirst();
    if (inserted) {
      if (inserted.request_hash === requestHash) return { kind: 'claimed' };
    }
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response_status', 'response_body'])
      .where('principal_id', '=', principalId)
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    if (row.response_status === null) return { kind: 'in_flight', requestHash: row.request_hash };
    return { kind: 'answered', requestHash: row.request_hash, status: row.response_status, body: row.response_body };
  }

  async answer(principalId: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ response_status: status, response_body: JSON.stringify(body), completed_at: sql`now()` })
      .where('principal_id', '=', principalId)
      .where('idempotency_key', '=', key)
      .execute();
  }

  /** Lets a key be used again after a failure of ours, when nothing was decided. */
  async release(principalId: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('principal_id', '=', principalId)
      .where('idempotency_key', '=', key)
      .where('response_status', 'is', null)
      .execute();
  }

  async pruneOlderThan(hours = ANSWER_RETENTION_HOURS): Promise<bigint> {
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${hours})`)
      .executeTakeFirst();
    return result.numDeletedRows;
  }
}
