/**
 * The first answer to every idempotency key, kept in Postgres for days so it survives restarts
 * (the whole story: docs/idempotency.md).
 *
 * A key is claimed before its command is decided, so that two requests with one key cannot both
 * run it. Within this process the claim is an entry in a map: a second request is refused at once,
 * without a round trip. Across processes it depends on where events live:
 * - On Postgres the statement that appends a command's events also writes its answer, and a key's
 *   row is only ever written with its answer (command-appender.ts): there is no claim row, and
 *   nothing for a process that dies to leave behind.
 * - On EventStoreDB the key is claimed in Postgres first, under this process's owner id, in one
 *   statement shared by every claim made at that moment; a claim whose owner's lease ran out is
 *   taken over. Those claims, and the answers stored here, commit without waiting for the disk: a
 *   crash can lose the last instant of them, and that is safe, because every appended event
 *   carries its key and request hash, so the stream itself recognises a retry of an accepted
 *   command.
 *
 * This store writes the answers the append does not: refusals before deciding, answers rebuilt
 * from the stream, and all of EventStoreDB's.
 */
import { Inject, Injectable } from '@nestjs/common';
import { invariant, reject } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { ANSWERS_DATABASE, EVENT_STORE } from '../infrastructure/tokens';
import { idempotencyScope } from './command-envelope';
import { CommandOwner, keysClaimedBeforeDeciding } from './command-owner';
import { MicroBatcher } from './micro-batcher';

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'answered'; requestHash: string; status: number; body: unknown }
  | { kind: 'in_flight'; requestHash: string };

/** What a key already held when a request came with it. */
export type EarlierClaim = Exclude<Claim, { kind: 'claimed' }>;

/** A key's row as Postgres holds it. */
export interface KeyRow {
  readonly requestHash: string;
  /** Null while it is claimed and unanswered. */
  readonly status: number | null;
  readonly body: string | null;
  readonly position: string | null;
}

export const earlierClaimOf = (row: KeyRow): EarlierClaim =>
  row.status === null
    ? { kind: 'in_flight', requestHash: row.requestHash }
    : { kind: 'answered', requestHash: row.requestHash, status: row.status, body: storedBody(row.body, row.position) };

/**
 * What a request gets from a key that held something before it: the first answer if it is the
 * same request, 409 while that one is being decided, 422 if the key was first used for another.
 */
export function earlierAnswer(
  earlier: EarlierClaim,
  requestHash: string,
  key: string,
): { status: number; body: unknown } {
  if (earlier.requestHash !== requestHash) {
    const error = new LedgerHttpError(
      reject('idempotency_key_reused', `Idempotency-Key "${key}" was first used for a different request`),
    );
    return { status: error.status, body: error.body };
  }
  if (earlier.kind === 'answered') return { status: earlier.status, body: earlier.body };
  const error = new LedgerHttpError(reject('idempotency_key_in_flight'));
  return { status: error.status, body: error.body };
}

interface ClaimRequest {
  readonly principalId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly commandType: string;
}

export interface StoredAnswer {
  readonly principalId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly commandType: string;
  readonly status: number;
  /** The answer as JSON text. */
  readonly body: string;
  /** A receipt's global position, kept beside its body. */
  readonly position: string | null;
}

/** Answers are kept at least this long (the promise to callers is 24 hours). */
export const ANSWER_RETENTION_HOURS = 72;

interface ClaimRow {
  claimed: boolean;
  request_hash: string | null;
  response_status: number | null;
  response_body: string | null;
  response_position: string | null;
}

/** A stored answer as the caller gets it: a receipt's position sits beside its body. */
export function storedBody(body: string | null, position: string | null): unknown {
  const parsed: unknown = body === null ? null : JSON.parse(body);
  if (position !== null && typeof parsed === 'object' && parsed !== null) {
    return { ...(parsed as Record<string, unknown>), position };
  }
  return parsed;
}

/** How an answer is written against its key, here and inside the append (command-appender.ts). */
export const INSERT_ANSWERS = `INSERT INTO idempotency_keys AS k
  (principal_id, idempotency_key, request_hash, command_type, response_status, response_body,
   response_position, completed_at)`;

/** The first answer stays the answer: a key's claim row is completed once, and ends its claim. */
export const KEEP_FIRST_ANSWER = `ON CONFLICT (principal_id, idempotency_key) DO UPDATE
  SET response_status = excluded.response_status, response_body = excluded.response_body,
    response_position = excluded.response_position, completed_at = excluded.completed_at, owner = NULL
  WHERE k.response_status IS NULL`;

@Injectable()
export class IdempotencyStore {
  /** The keys this process is deciding, by scope, with their request hashes. */
  private readonly inFlight = new Map<string, string>();
  private readonly claims = new MicroBatcher<ClaimRequest, Claim>((requests) => this.claimAll(requests));
  private readonly answers = new MicroBatcher<StoredAnswer, void>(async (answers) => {
    await this.storeAnswers(answers);
    return answers.map(() => undefined);
  });

  /** Whether keys are claimed in Postgres before deciding (EventStoreDB), not taken by the append. */
  private readonly claimsInPostgres: boolean;

  constructor(
    @Inject(ANSWERS_DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly owner: CommandOwner,
    @Inject(EVENT_STORE) eventStore: EventStore,
  ) {
    this.claimsInPostgres = keysClaimedBeforeDeciding(eventStore);
  }

  /**
   * Claims the key for this process, or says why not: answered before, or being decided (here or
   * by a live process elsewhere). A claim must end with `answer`, `settle` or `release`.
   */
  async claim(principalId: string, key: string, requestHash: string, commandType: string): Promise<Claim> {
    const scope = idempotencyScope(principalId, key);
    const running = this.inFlight.get(scope);
    if (running !== undefined) return { kind: 'in_flight', requestHash: running };
    this.inFlight.set(scope, requestHash);
    if (!this.claimsInPostgres) return { kind: 'claimed' };
    const claim = await this.claims.submit({ principalId, key, requestHash, commandType }).catch((error: unknown) => {
      this.inFlight.delete(scope);
      throw error;
    });
    if (claim.kind !== 'claimed') this.inFlight.delete(scope);
    return claim;
  }

  /**
   * Stores a claimed key's answer and ends the claim. Without a claim row (on Postgres) the key
   * may have been answered meanwhile by another process: that earlier answer is returned, and
   * stays the key's.
   */
  async answer(claimed: Omit<StoredAnswer, 'position'> & { position?: string | null }): Promise<EarlierClaim | null> {
    const answer = { ...claimed, position: claimed.position ?? null };
    try {
      if (this.claimsInPostgres) {
        await this.answers.submit(answer);
        return null;
      }
      return await this.answerUnclaimed(answer);
    } finally {
      this.settle(claimed.principalId, claimed.key);
    }
  }

  /** Writes an answer if its key holds none; otherwise returns what it holds. */
  private async answerUnclaimed(answer: StoredAnswer): Promise<EarlierClaim | null> {
    const { rows } = await sql<KeyRow & { inserted: boolean }>`
      WITH inserted AS (
        ${sql.raw(INSERT_ANSWERS)}
        VALUES (${answer.principalId}, ${answer.key}, ${answer.requestHash}, ${answer.commandType}, ${answer.status},
          ${answer.body}, ${answer.position}, now())
        ON CONFLICT (principal_id, idempotency_key) DO NOTHING
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, k.request_hash AS "requestHash", k.response_status AS status,
        k.response_body AS body, k.response_position AS position
      FROM (SELECT 1) one
        LEFT JOIN idempotency_keys k ON k.principal_id = ${answer.principalId} AND k.idempotency_key = ${answer.key}`.execute(
      this.db,
    );
    const row = rows[0];
    if (!row || row.inserted) return null;
    if (row.requestHash === null) {
      // It held a row this statement could not see yet: the statement that wrote it had not committed.
      return { kind: 'in_flight', requestHash: answer.requestHash };
    }
    return earlierClaimOf(row);
  }

  /** Ends a claim whose answer was stored elsewhere (with the command's events). */
  settle(principalId: string, key: string): void {
    this.inFlight.delete(idempotencyScope(principalId, key));
  }

  /** Lets a key be used again after a failure of ours, when nothing was decided. */
  async release(principalId: string, key: string): Promise<void> {
    if (!this.claimsInPostgres) return this.settle(principalId, key);
    try {
      await this.db
        .deleteFrom('idempotency_keys')
        .where('principal_id', '=', principalId)
        .where('idempotency_key', '=', key)
        .where('response_status', 'is', null)
        .execute();
    } finally {
      this.settle(principalId, key);
    }
  }

  private async claimAll(requests: ClaimRequest[]): Promise<Claim[]> {
    // The in-flight map lets one scope into a batch at most once.
    const { rows } = await sql<ClaimRow>`
      WITH input AS (
        SELECT * FROM unnest(
          ${requests.map((r) => r.principalId)}::text[], ${requests.map((r) => r.key)}::text[],
          ${requests.map((r) => r.requestHash)}::text[], ${requests.map((r) => r.commandType)}::text[]
        ) WITH ORDINALITY AS i(principal_id, idempotency_key, request_hash, command_type, ord)
      ), claimed AS (
        INSERT INTO idempotency_keys AS k (principal_id, idempotency_key, request_hash, command_type, owner)
        SELECT principal_id, idempotency_key, request_hash, command_type, ${this.owner.id} FROM input
        ON CONFLICT (principal_id, idempotency_key) DO UPDATE
          SET created_at = now(), request_hash = excluded.request_hash, command_type = excluded.command_type,
            owner = excluded.owner
          -- Unanswered, and its owner is this process (which is not deciding it: see claim()) or
          -- one whose lease has run out.
          WHERE k.response_status IS NULL
            AND (k.owner IS NULL OR k.owner = excluded.owner OR NOT EXISTS (
              SELECT 1 FROM command_owners o WHERE o.owner_id = k.owner AND o.lease_until > now()))
        RETURNING principal_id, idempotency_key
      )
      -- The outer SELECT sees the table as it was before this statement: the earlier claim, if any.
      SELECT c.principal_id IS NOT NULL AS claimed, k.request_hash, k.response_status, k.response_body,
        k.response_position
      FROM input i
      LEFT JOIN claimed c ON c.principal_id = i.principal_id AND c.idempotency_key = i.idempotency_key
      LEFT JOIN idempotency_keys k ON k.principal_id = i.principal_id AND k.idempotency_key = i.idempotency_key
      ORDER BY i.ord`.execute(this.db);
    return requests.map((_, i): Claim => {
      const row = rows[i];
      invariant(row, 'the claim statement answers one row per key');
      if (row.claimed) return { kind: 'claimed' };
      invariant(row.request_hash !== null, 'a claim that was refused is held by an earlier one');
      if (row.response_status === null) return { kind: 'in_flight', requestHash: row.request_hash };
      return {
        kind: 'answered',
        requestHash: row.request_hash,
        status: row.response_status,
        body: storedBody(row.response_body, row.response_position),
      };
    });
  }

  /** Writes answers in one statement, whether or not their claims are still there. */
  async storeAnswers(answers: readonly StoredAnswer[]): Promise<void> {
    if (answers.length === 0) return;
    await sql`
      ${sql.raw(INSERT_ANSWERS)}
      SELECT DISTINCT ON (principal_id, idempotency_key) *, now() FROM unnest(
        ${answers.map((a) => a.principalId)}::text[], ${answers.map((a) => a.key)}::text[],
        ${answers.map((a) => a.requestHash)}::text[], ${answers.map((a) => a.commandType)}::text[],
        ${answers.map((a) => a.status)}::int[], ${answers.map((a) => a.body)}::text[],
        ${answers.map((a) => a.position)}::text[]
      ) AS v(principal_id, idempotency_key, request_hash, command_type, status, body, position)
      ${sql.raw(KEEP_FIRST_ANSWER)}`.execute(this.db);
  }

  async pruneOlderThan(hours = ANSWER_RETENTION_HOURS): Promise<bigint> {
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${hours})`)
      .executeTakeFirst();
    return result.numDeletedRows;
  }
}
