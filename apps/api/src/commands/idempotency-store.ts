/**
 * The first answer to every idempotency key, kept in Postgres for days so it survives restarts. A
 * key is claimed before its command runs, so two concurrent requests with one key cannot both run
 * it. Claims and answers made at the same moment share one statement.
 *
 * Claims and answers commit without waiting for the disk: a crash can lose the last instant of
 * them, and that is safe, because every appended event carries its key and request hash, so the
 * account stream itself recognises a retry of an accepted command and rebuilds its first answer.
 * Only a rejection's answer (which appended nothing) could be lost, and a retry then is decided
 * afresh, appending at most what the first attempt would have.
 */
import { Inject, Injectable } from '@nestjs/common';
import { invariant } from '@ledger/domain';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { ANSWERS_DATABASE } from '../infrastructure/tokens';
import { MicroBatcher } from './micro-batcher';

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'answered'; requestHash: string; status: number; body: unknown }
  | { kind: 'in_flight'; requestHash: string };

interface ClaimRequest {
  readonly principalId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly commandType: string;
}

interface Answer {
  readonly principalId: string;
  readonly key: string;
  readonly status: number;
  readonly body: unknown;
}

/** A claim older than this whose process never answered is taken over (the stream still dedupes). */
const STALE_CLAIM_SECONDS = 30;
/** Answers are kept at least this long (the promise to callers is 24 hours). */
export const ANSWER_RETENTION_HOURS = 72;

@Injectable()
export class IdempotencyStore {
  private readonly claims = new MicroBatcher<ClaimRequest, Claim>((requests) => this.claimAll(requests));
  private readonly answers = new MicroBatcher<Answer, void>((answers) => this.answerAll(answers));

  constructor(@Inject(ANSWERS_DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  claim(principalId: string, key: string, requestHash: string, commandType: string): Promise<Claim> {
    return this.claims.submit({ principalId, key, requestHash, commandType });
  }

  answer(principalId: string, key: string, status: number, body: unknown): Promise<void> {
    return this.answers.submit({ principalId, key, status, body });
  }

  private async claimAll(requests: ClaimRequest[]): Promise<Claim[]> {
    // One statement may not claim a key twice; a repeat within the batch is in flight by definition.
    const first = new Map<string, number>();
    const unique = requests.filter((r, i) => {
      const scope = `${r.principalId}\u0000${r.key}`;
      if (first.has(scope)) return false;
      first.set(scope, i);
      return true;
    });
    const { rows } = await sql<{
      claimed: boolean;
      request_hash: string | null;
      response_status: number | null;
      response_body: unknown;
    }>`
      WITH input AS (
        SELECT * FROM unnest(
          ${unique.map((r) => r.principalId)}::text[], ${unique.map((r) => r.key)}::text[],
          ${unique.map((r) => r.requestHash)}::text[], ${unique.map((r) => r.commandType)}::text[]
        ) WITH ORDINALITY AS i(principal_id, idempotency_key, request_hash, command_type, ord)
      ), claimed AS (
        INSERT INTO idempotency_keys (principal_id, idempotency_key, request_hash, command_type)
        SELECT principal_id, idempotency_key, request_hash, command_type FROM input
        ON CONFLICT (principal_id, idempotency_key) DO UPDATE
          SET created_at = now(), request_hash = excluded.request_hash, command_type = excluded.command_type
          WHERE idempotency_keys.response_status IS NULL
            AND idempotency_keys.created_at < now() - make_interval(secs => ${STALE_CLAIM_SECONDS})
        RETURNING principal_id, idempotency_key
      )
      -- The outer SELECT sees the table as it was before this statement: the earlier claim, if any.
      SELECT c.principal_id IS NOT NULL AS claimed, k.request_hash, k.response_status, k.response_body
      FROM input i
      LEFT JOIN claimed c ON c.principal_id = i.principal_id AND c.idempotency_key = i.idempotency_key
      LEFT JOIN idempotency_keys k ON k.principal_id = i.principal_id AND k.idempotency_key = i.idempotency_key
      ORDER BY i.ord`.execute(this.db);
    return requests.map((request, i): Claim => {
      const at = first.get(`${request.principalId}\u0000${request.key}`)!;
      const earlier = requests[at];
      if (at !== i && earlier) return { kind: 'in_flight', requestHash: earlier.requestHash };
      const row = rows[unique.indexOf(request)];
      invariant(row, 'the claim statement answers one row per distinct key');
      if (row.claimed) return { kind: 'claimed' };
      if (row.response_status === null) return { kind: 'in_flight', requestHash: row.request_hash! };
      return {
        kind: 'answered',
        requestHash: row.request_hash!,
        status: row.response_status,
        body: row.response_body,
      };
    });
  }

  private async answerAll(answers: Answer[]): Promise<void[]> {
    await sql`
      UPDATE idempotency_keys AS k
      SET response_status = v.status, response_body = v.body, completed_at = now()
      FROM unnest(
        ${answers.map((a) => a.principalId)}::text[], ${answers.map((a) => a.key)}::text[],
        ${answers.map((a) => a.status)}::int[], ${answers.map((a) => JSON.stringify(a.body))}::jsonb[]
      ) AS v(principal_id, idempotency_key, status, body)
      WHERE k.principal_id = v.principal_id AND k.idempotency_key = v.idempotency_key`.execute(this.db);
    return answers.map(() => undefined);
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
