/**
 * Load → decide → append, for one command on one billing account stream. Commands on an account
 * run one at a time in this process; a conflict with another process (the expected revision did
 * not hold) is retried against fresh state, a bounded number of times.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { decide, reject, type LedgerCommand } from '@ledger/domain';
import {
  accountStreamId,
  toEventToAppend,
  WrongExpectedRevision,
  type EventStore,
  type RecordedEvent,
} from '@ledger/event-store';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { EVENT_STORE } from '../infrastructure/tokens';
import { AccountCache, applyRecorded, emptyAccount, type LoadedAccount } from './account-cache';
import { idempotencyScope, type CommandEnvelope } from './command-envelope';
import { KeyedQueue } from './keyed-queue';
import { receipt, type ReceiptJson } from './receipt';

const MAX_ATTEMPTS = 5;

@Injectable()
export class AccountCommandRunner {
  private readonly queue = new KeyedQueue();
  readonly cache: AccountCache;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {
    this.cache = new AccountCache(store);
  }

  /** Decides and appends; resolves to the receipt, or throws the rejection as a LedgerHttpError. */
  run(command: LedgerCommand, envelope: CommandEnvelope): Promise<ReceiptJson> {
    return this.queue.run(command.accountId, () => this.attempt(command, envelope, 1));
  }

  private async attempt(command: LedgerCommand, envelope: CommandEnvelope, attempt: number): Promise<ReceiptJson> {
    const account = await this.cache.get(command.accountId);
    const answered = account.answered.get(idempotencyScope(envelope.principal.id, envelope.idempotencyKey));
    if (answered) return this.answerAgain(account, answered, envelope, command);

    const decision = decide(command, account.state, { principal: envelope.principal, now: envelope.now });
    if (!decision.ok) throw new LedgerHttpError(decision.rejection);
    const facts = { commandType: command.type, commandId: envelope.commandId, accountId: command.accountId };
    if (decision.events.length === 0) return receipt(facts, [], account.revision, null, account.state);

    const toAppend = decision.events.map((event) =>
      toEventToAppend(event, randomUUID(), {
        commandId: envelope.commandId,
        commandType: command.type,
        idempotencyKey: envelope.idempotencyKey,
        requestHash: envelope.requestHash,
        correlationId: envelope.correlationId,
        causationId: envelope.causationId,
        principal: envelope.principal.id,
        occurredAt: envelope.now,
      }),
    );
    try {
      const streamId = accountStreamId(command.accountId);
      const result = await this.store.append(streamId, toAppend, account.revision);
      const first = result.revision - BigInt(toAppend.length) + 1n;
      const recorded: RecordedEvent[] = toAppend.map((event, i) => ({
        ...event,
        streamId,
        revision: first + BigInt(i),
        position: result.position,
      }));
      for (const event of recorded) applyRecorded(account, event);
      return receipt(facts, recorded, result.revision, result.position, account.state);
    } catch (error) {
      // Whatever happened, the cached state may no longer match the stream: reload next time.
      this.cache.forget(command.accountId);
      if (!(error instanceof WrongExpectedRevision)) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new LedgerHttpError(
          reject('concurrency_exhausted', undefined, { attempts: attempt, streamId: error.streamId }),
        );
      }
      return this.attempt(command, envelope, attempt + 1);
    }
  }

  /**
   * The stream already holds this request's events (the process stopped before it could store its
   * answer): rebuild the first answer from the stream instead of deciding again.
   */
  private async answerAgain(
    account: LoadedAccount,
    answered: { requestHash: string; firstRevision: bigint; lastRevision: bigint },
    envelope: CommandEnvelope,
    command: LedgerCommand,
  ): Promise<ReceiptJson> {
    if (answered.requestHash !== envelope.requestHash) {
      throw new LedgerHttpError(reject('idempotency_key_reused'));
    }
    const before = emptyAccount(command.accountId);
    const mine: RecordedEvent[] = [];
    for await (const recorded of this.store.readStream(accountStreamId(command.accountId))) {
      if (recorded.revision > answered.lastRevision) break;
      applyRecorded(before, recorded);
      if (recorded.revision >= answered.firstRevision) mine.push(recorded);
    }
    const last = mine[mine.length - 1];
    return receipt(
      { commandType: command.type, commandId: last.metadata.commandId, accountId: account.accountId },
      mine,
      answered.lastRevision,
      last.position,
      before.state,
    );
  }
}
