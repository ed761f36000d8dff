/**
 * The path every command takes, alone or in a batch: idempotency key → its first answer, or
 * decode → decide and store (account-command-runner.ts) → answer. Each answer is stored against
 * the key before it is returned; docs/idempotency.md tells the whole story.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { idempotencyKeyText } from '@ledger/contract';
import { commandSchemas, reject, type CommandType, type Principal } from '@ledger/domain';
import { ReplayedAnswer } from '../errors/error.filter';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { AccountCommandRunner, type CommandAnswer } from './account-command-runner';
import { commandInput, decodeInput, requestHash } from './command-input';
import { earlierAnswer, IdempotencyStore } from './idempotency-store';
import type { ReceiptJson } from './receipt';

/** One command as its route (or a batch) carries it. */
export interface CommandRequest {
  readonly type: CommandType;
  /** The route's path parameters. */
  readonly params: Record<string, string>;
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  readonly correlationId?: string | undefined;
  readonly causationId?: string | undefined;
  /** The clock reading to decide at; the API's own clock when absent (only in-process callers set it). */
  readonly now?: string;
}

/** A command route's request as the HTTP layer hands it over. */
export interface HttpCommandRequest {
  readonly principal: Principal;
  readonly params: unknown;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const header = (request: HttpCommandRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** What a caller is answered: the status and the body, a receipt or a rejection. */
export type Answer = Omit<CommandAnswer, 'stored'>;

/** Rejections that say "try again", which must not be stored as the key's first answer. */
const TRANSIENT = new Set(['concurrency_exhausted']);

const refusal = (error: LedgerHttpError): Answer => ({ status: error.status, body: error.body });

@Injectable()
export class CommandGateway {
  constructor(
    private readonly runner: AccountCommandRunner,
    private readonly idempotency: IdempotencyStore,
  ) {}

  /** A command route: the receipt, or the command's rejection (or first answer) thrown to the error filter. */
  async send(type: CommandType, request: HttpCommandRequest): Promise<ReceiptJson> {
    const answer = await this.answer(request.principal, {
      type,
      params: request.params as Record<string, string>,
      body: request.body,
      idempotencyKey: header(request, 'idempotency-key'),
      correlationId: header(request, 'x-correlation-id'),
      causationId: header(request, 'x-causation-id'),
    });
    if (answer.status !== 200) throw new ReplayedAnswer(answer.status, answer.body);
    return answer.body as ReceiptJson;
  }

  /**
   * Answers one command: with its receipt, its rejection, or the first answer to its key. Throws
   * only for a failure of ours (a store that cannot be reached, a bug), having released the key.
   */
  async answer(principal: Principal, request: CommandRequest): Promise<Answer> {
    const key = request.idempotencyKey;
    if (key === undefined || key === '') return refusal(new LedgerHttpError(reject('idempotency_key_missing')));
    if (!idempotencyKeyText.test(key)) {
      return refusal(
        new LedgerHttpError(reject('validation_failed', 'Idempotency-Key is 1–255 printable ASCII characters')),
      );
    }
    const { type } = request;
    let input: Record<string, unknown>;
    try {
      input = commandInput(request.params, request.body);
    } catch (error) {
      if (error instanceof LedgerHttpError) return refusal(error);
      throw error;
    }
    const hash = requestHash(type, input);

    const claim = await this.idempotency.claim(principal.id, key, hash, type);
    if (claim.kind !== 'claimed') return earlierAnswer(claim, hash, key);

    const stored = { principalId: principal.id, key, requestHash: hash, commandType: type };
    try {
      const command = { type, ...decodeInput(commandSchemas[type], input) };
      const commandId = randomUUID();
      const correlationId = request.correlationId || commandId;
      const answer = await this.runner.run(command as never, {
        principal,
        idempotencyKey: key,
        requestHash: hash,
        commandId,
        correlationId,
        causationId: request.causationId || correlationId,
        now: request.now ?? new Date().toISOString(),
      });
      if (answer.stored) this.idempotency.settle(principal.id, key);
      else await this.idempotency.answer({ ...stored, status: answer.status, body: JSON.stringify(answer.body) });
      return { status: answer.status, body: answer.body, json: answer.json };
    } catch (error) {
      if (error instanceof LedgerHttpError && error.status < 500 && !TRANSIENT.has(error.body.code)) {
        const earlier = await this.idempotency.answer({
          ...stored,
          status: error.status,
          body: JSON.stringify(error.body),
        });
        return earlier ? earlierAnswer(earlier, hash, key) : refusal(error);
      }
      await this.idempotency.release(principal.id, key).catch(() => undefined);
      throw error;
    }
  }
}
