/**
 * Stores what one flush of the command path decided: every account's events, each under its own
 * expected revision, and the answer to every command decided against them.
 *
 * On Postgres the answers are written by the statement that appends the events (an alongside
 * write): a command's answer exists exactly when its events do, and a flush costs one statement
 * however many accounts and commands it holds. On EventStoreDB, which cannot write to Postgres,
 * each stream appends on its own and the answers of the stored streams follow in one statement; a
 * crash between the two leaves the keys claimed but unanswered, and a retry is then answered from
 * the stream (docs/idempotency.md).
 *
 * One part can never sink the others: when the statement fails for a reason other than a lost
 * connection, each part is tried again on its own, so only the part at fault fails.
 */
import {
  formatPosition,
  PostgresEventStore,
  type AlongsideWrite,
  type EventStore,
  type StreamAppend,
  type StreamAppendOutcome,
} from '@ledger/event-store';
import { isConnectionFailure } from '../errors/error.filter';
import { idempotencyScope } from './command-envelope';
import { INSERT_ANSWERS, KEEP_FIRST_ANSWER, type IdempotencyStore } from './idempotency-store';

/** A command's answer, to be stored against its key once its stream's part is stored. */
export interface AnswerRecord {
  readonly streamId: string;
  readonly principalId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly commandType: string;
  readonly status: number;
  /** The answer's body; a receipt's `position` is filled in from its events. */
  readonly body: unknown;
  /** Whether the command appended events: its answer then gets their position. */
  readonly appended: boolean;
}

export type PartOutcome = StreamAppendOutcome | { readonly ok: false; readonly failure: unknown };

export interface StoredFlush {
  /** One per part, in order. */
  readonly outcomes: PartOutcome[];
  /** The statements it took. */
  readonly statements: number;
}

/** The answers' write inside the append statement: only the answers of stored parts are written. */
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
      body: JSON.stringify(a.body),
      appended: a.appended,
    })),
  );
  return {
    sql: (param) => `
    ${INSERT_ANSWERS}
    SELECT a.principal_id, a.idempotency_key, a.request_hash, a.command_type, a.status, a.body,
      CASE WHEN a.appended THEN last.transaction_id::text || '/' || last.position::text END,
      now()
    FROM json_to_recordset(${param(document)}::json) AS a(stream_id text, principal_id text,
      idempotency_key text, request_hash text, command_type text, status int, body text, appended bool)
      LEFT JOIN last_appended last ON last.stream_id = a.stream_id
    WHERE a.stream_id IN (SELECT stream_id FROM stored)
    ${KEEP_FIRST_ANSWER}
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
      if (parts.length <= 1 || isConnectionFailure(error)) throw error;
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
          return { ok: false, failure };
        }
      }),
    );
    return { outcomes, statements: 1 + parts.length };
  }

  private async storeTogether(
    parts: readonly StreamAppend[],
    answers: readonly AnswerRecord[],
  ): Promise<StreamAppendOutcome[]> {
    const unique = distinctByKey(answers);
    if (this.eventStore instanceof PostgresEventStore) {
      return this.eventStore.appendMany(parts, unique.length > 0 ? answersAlongside(unique) : undefined);
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
          const position = answer.appended && result ? formatPosition(result.position) : null;
          return { ...answer, body: JSON.stringify(answer.body), position };
        }),
      );
    }
    return outcomes;
  }
}
