/**
 * Stores what one flush of the command path decided: every account's events, each under its own
 * expected revision, and the answer to every command decided against them.
 *
 * On Postgres the statement that appends the events is also the one that writes the answers, and
 * the only write a key ever gets: a command's answer exists exactly when its events do, and a
 * flush costs one statement however many accounts and commands it holds. Before writing anything
 * the statement looks the flush's keys up: a part holding a key answered before is not stored,
 * and comes back with those answers (`vetoed`). A key answered by another statement that
 * committed after this one began makes the answer's insert fail on the key, and with it the
 * statement, events included (`raced`, below). On EventStoreDB, which cannot write to Postgres,
 * keys are claimed first (idempotency-store.ts), each stream appends on its own and the answers
 * of the stored streams follow in one statement; a crash between the two leaves the keys claimed
 * but unanswered, and a retry is then answered from the stream (docs/idempotency.md).
 *
 * One part can never sink the others: when the statement fails for a reason other than a lost
 * connection, each part is tried again on its own, so only the part at fault fails.
 */
import {
  formatPosition,
  PostgresEventStore,
  type AlongsideWrite,
  type AppendManyOutcome,
  type AppendResult,
  type EventStore,
  type StoredPart,
  type StreamAppend,
} from '@ledger/event-store';
import { isConnectionFailure } from '../errors/error.filter';
import { idempotencyScope } from './command-envelope';
import { INSERT_ANSWERS, type IdempotencyStore, type KeyRow } from './idempotency-store';

/** A command's answer, to be stored against its key once its stream's part is stored. */
export interface AnswerRecord {
  readonly streamId: string;
  readonly principalId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly commandType: string;
  readonly status: number;
  /** The answer's body as JSON text; a receipt's `position` is filled in from its events. */
  readonly body: string;
  /** The revision of the command's last event, if it appended any: its answer gets that position. */
  readonly lastRevision: bigint | null;
}

/** A key's row as a vetoed part brings it back: what it held before (a claim, if unanswered). */
export interface KnownAnswer extends KeyRow {
  readonly principalId: string;
  readonly key: string;
}

export type PartOutcome =
  /** Stored; on Postgres with each event's position (EventStoreDB gives the last one's only). */
  | {
      readonly ok: true;
      readonly result: (AppendResult & Partial<Pick<StoredPart, 'eventPositions'>>) | null;
    }
  | Exclude<AppendManyOutcome, { ok: true } | { vetoed: unknown }>
  | { readonly ok: false; readonly vetoed: KnownAnswer[] }
  /** A key of the part was answered by a statement that committed meanwhile: decide it again. */
  | { readonly ok: false; readonly raced: true }
  | { readonly ok: false; readonly failure: unknown };

export interface StoredFlush {
  /** One per part, in order. */
  readonly outcomes: PartOutcome[];
  /** The statements it took. */
  readonly statements: number;
}

/** Whether a statement failed because an answer's key was taken by another that committed first. */
const isKeyTaken = (error: unknown): boolean =>
  (error as { code?: unknown }).code === '23505' &&
  (error as { constraint?: unknown }).constraint === 'idempotency_keys_pk';

const failedPart = (failure: unknown): PartOutcome =>
  isKeyTaken(failure) ? { ok: false, raced: true } : { ok: false, failure };

/**
 * The answers' write inside the append statement: the keys looked up first (a part holding one
 * answered before is vetoed), then only the answers of stored parts inserted, in key order (two
 * statements taking keys never wait on each other in a cycle).
 */
function answersAlongside(answers: readonly AnswerRecord[]): AlongsideWrite {
  // One JSON document, each body in it as JSON text (a string): Postgres unescapes the document
  // once, which leaves a body's own escapes — a \u0000 an answer echoes — as written.
  const document = JSON.stringify(
    answers.map((a) => ({
      stream_id: a.streamId,
      principal_id: a.principalId,
      idempotency_key: a.key,
      request_hash: a.requestHash,
      command_type: a.commandType,
      status: a.status,
      body: a.body,
      last_revision: a.lastRevision === null ? null : a.lastRevision.toString(),
    })),
  );
  let placeholder: string | undefined;
  const documentParam = (param: (value: unknown) => string) => (placeholder ??= param(document));
  return {
    // The keys travel on their own: the document, bodies and all, is parsed once, by the insert.
    veto: (param) => `
    SELECT a.stream_id, json_agg(json_build_object('principalId', k.principal_id, 'key', k.idempotency_key,
      'requestHash', k.request_hash, 'status', k.response_status, 'body', k.response_body,
      'position', k.response_position)) AS detail
    FROM unnest(${param(answers.map((a) => a.streamId))}::text[], ${param(answers.map((a) => a.principalId))}::text[],
        ${param(answers.map((a) => a.key))}::text[]) AS a(stream_id, principal_id, idempotency_key)
      -- One probe of the key's index per answer: the LIMIT keeps the planner from joining the
      -- whole table (it cannot know how few rows the arrays hold).
      CROSS JOIN LATERAL (SELECT * FROM idempotency_keys k
        WHERE k.principal_id = a.principal_id AND k.idempotency_key = a.idempotency_key LIMIT 1) k
    GROUP BY a.stream_id`,
    sql: (param) => `
    ${INSERT_ANSWERS}
    SELECT a.principal_id, a.idempotency_key, a.request_hash, a.command_type, a.status, a.body,
      ev.transaction_id::text || '/' || ev.position::text, now()
    FROM json_to_recordset(${documentParam(param)}::json) AS a(stream_id text, principal_id text,
      idempotency_key text, request_hash text, command_type text, status int, body text, last_revision bigint)
      LEFT JOIN appended ev ON ev.stream_id = a.stream_id AND ev.revision = a.last_revision
    WHERE a.stream_id IN (SELECT stream_id FROM stored)
    ORDER BY a.principal_id, a.idempotency_key
    RETURNING 1`,
  };
}

/** One statement may not write a key twice: the first answer for a key is the one kept. */
function distinctByKey(answers: readonly AnswerRecord[]): AnswerRecord[] {
  const seen = new Set<string>();
  return answers.filter((answer) => {
    const scope = idempotencyScope(answer.principalId, answer.key);
    if (seen.has(scope)) return false;
    seen.add(scope);
    return true;
  });
}

export class CommandAppender {
  constructor(
    private readonly eventStore: EventStore,
    private readonly idempotency: IdempotencyStore,
  ) {}

  async store(parts: readonly StreamAppend[], answers: readonly AnswerRecord[]): Promise<StoredFlush> {
    try {
      return { outcomes: await this.storeTogether(parts, answers), statements: 1 };
    } catch (error) {
      if (isConnectionFailure(error)) throw error;
      if (parts.length <= 1) return { outcomes: parts.map(() => failedPart(error)), statements: 1 };
    }
    const outcomes = await Promise.all(
      parts.map(async (part): Promise<PartOutcome> => {
        try {
          const [outcome] = await this.storeTogether(
            [part],
            answers.filter((answer) => answer.streamId === part.streamId),
          );
          return outcome ?? { ok: false, failure: new Error(`no outcome for ${part.streamId}`) };
        } catch (failure) {
          return failedPart(failure);
        }
      }),
    );
    return { outcomes, statements: 1 + parts.length };
  }

  private async storeTogether(
    parts: readonly StreamAppend[],
    answers: readonly AnswerRecord[],
  ): Promise<PartOutcome[]> {
    const unique = distinctByKey(answers);
    if (this.eventStore instanceof PostgresEventStore) {
      const outcomes = await this.eventStore.appendManyWith(
        parts,
        unique.length > 0 ? answersAlongside(unique) : undefined,
      );
      return outcomes.map((outcome) =>
        'vetoed' in outcome ? { ok: false, vetoed: outcome.vetoed as KnownAnswer[] } : outcome,
      );
    }
    const outcomes = await this.eventStore.appendMany(parts);
    const stored = new Map(
      parts.flatMap((part, i) => {
        const outcome = outcomes[i];
        return outcome?.ok ? [[part.streamId, outcome.result] as const] : [];
      }),
    );
    const answered = unique.filter((answer) => stored.has(answer.streamId));
    if (answered.length > 0) {
      await this.idempotency.storeAnswers(
        answered.map((answer) => {
          const result = stored.get(answer.streamId);
          const position = answer.lastRevision !== null && result ? formatPosition(result.position) : null;
          return { ...answer, position };
        }),
      );
    }
    return outcomes;
  }
}
