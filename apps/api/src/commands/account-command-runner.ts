/**
 * Load → decide → append, for the commands of one billing account stream.
 *
 * Commands for an account queue in its mailbox and are decided one after another against the
 * cached state, each seeing the events of the ones before it; everything a batch decided is then
 * appended in one call under the revision the batch started from. A hot account thus pays one
 * append for many commands, never two for one credit. No answer is given before its batch is
 * stored: if the append fails, every decision of the batch is discarded, and on a conflict with
 * another process (the expected revision did not hold) the batch is decided again against fresh
 * state, a bounded number of times.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { bucketsOf, decide, invariant, reject, type LedgerCommand } from '@ledger/domain';
import {
  accountStreamId,
  formatPosition,
  toEventToAppend,
  WrongExpectedRevision,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '@ledger/event-store';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { ANSWERS_DATABASE, EVENT_STORE } from '../infrastructure/tokens';
import { AccountCache, applyRecorded, emptyAccount, takeSnapshotIfDue, type AnsweredCommand } from './account-cache';
import { AccountSnapshots } from './account-snapshots';
import { idempotencyScope, type CommandEnvelope } from './command-envelope';
import { bucketsJson, eventJson, settlementJson, type ReceiptJson } from './receipt';

const MAX_ATTEMPTS = 5;
/** Commands decided together and stored by one append. */
const MAX_BATCH = 64;

interface Pending {
  readonly command: LedgerCommand;
  readonly envelope: CommandEnvelope;
  readonly resolve: (receipt: ReceiptJson) => void;
  readonly reject: (error: unknown) => void;
}

/** What a batch decided for one command; turned into its answer once the batch is stored. */
type Outcome =
  | { kind: 'rejected'; error: LedgerHttpError }
  | { kind: 'answered_before'; answered: AnsweredCommand }
  | { kind: 'decided'; receipt: Omit<ReceiptJson, 'position'>; appends: boolean };

/**
 * Counters of the command path since the process started, process-wide like metrics counters: the
 * benchmarks read them from the API process they run.
 */
export interface CommandRunnerStats {
  /** Batches decided again because another process appended to the stream first. */
  conflicts: number;
  /** Appends made: each stores one batch of decided commands. */
  appends: number;
  /** Commands decided (accepted, rejected or answered again). */
  commands: number;
}

export const commandRunnerStats: CommandRunnerStats = { conflicts: 0, appends: 0, commands: 0 };

@Injectable()
export class AccountCommandRunner {
  private readonly mailboxes = new Map<string, Pending[]>();
  readonly cache: AccountCache;
  readonly stats = commandRunnerStats;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ANSWERS_DATABASE) answersDb: Kysely<LedgerDatabase>,
  ) {
    this.cache = new AccountCache(store, undefined, new AccountSnapshots(answersDb));
  }

  /** Decides and appends; resolves to the receipt, or rejects with the rejection as a LedgerHttpError. */
  run(command: LedgerCommand, envelope: CommandEnvelope): Promise<ReceiptJson> {
    return new Promise((resolve, reject) => {
      const mailbox = this.mailboxes.get(command.accountId);
      const pending = { command, envelope, resolve, reject };
      if (mailbox) {
        mailbox.push(pending);
        return;
      }
      const fresh = [pending];
      this.mailboxes.set(command.accountId, fresh);
      void this.drain(command.accountId, fresh);
    });
  }

  private async drain(accountId: string, mailbox: Pending[]): Promise<void> {
    while (mailbox.length > 0) {
      const batch = mailbox.splice(0, MAX_BATCH);
      await this.settle(accountId, batch, 1);
    }
    this.mailboxes.delete(accountId);
  }

  private async settle(accountId: string, batch: Pending[], attempt: number): Promise<void> {
    let stored: { outcomes: Outcome[]; position: string | null };
    try {
      stored = await this.decideAndAppend(accountId, batch);
    } catch (error) {
      // Whatever happened, the cached state may hold undone decisions: reload it next time.
      this.cache.forget(accountId);
      if (error instanceof WrongExpectedRevision) this.stats.conflicts += 1;
      if (error instanceof WrongExpectedRevision && attempt < MAX_ATTEMPTS) {
        return this.settle(accountId, batch, attempt + 1);
      }
      const failure =
        error instanceof WrongExpectedRevision
          ? new LedgerHttpError(reject('concurrency_exhausted', undefined, { attempts: attempt }))
          : error;
      for (const pending of batch) pending.reject(failure);
      return;
    }
    this.stats.commands += batch.length;
    await Promise.all(
      batch.map(async (pending, i) => {
        const outcome = stored.outcomes[i];
        try {
          invariant(outcome, 'every command of a batch has its outcome');
          if (outcome.kind === 'rejected') throw outcome.error;
          if (outcome.kind === 'answered_before') {
            pending.resolve(await this.answerAgain(pending, outcome.answered));
          } else {
            pending.resolve({ ...outcome.receipt, position: outcome.appends ? stored.position : null });
          }
        } catch (error) {
          pending.reject(error);
        }
      }),
    );
  }

  private async decideAndAppend(
    accountId: string,
    batch: Pending[],
  ): Promise<{ outcomes: Outcome[]; position: string | null }> {
    const account = await this.cache.get(accountId);
    const startRevision = account.revision;
    const streamId = accountStreamId(accountId);
    const toAppend: EventToAppend[] = [];
    const outcomes = batch.map(({ command, envelope }) => {
      const answered = account.answered.get(idempotencyScope(envelope.principal.id, envelope.idempotencyKey));
      if (answered) {
        return answered.requestHash === envelope.requestHash
          ? ({ kind: 'answered_before', answered } as const)
          : ({ kind: 'rejected', error: new LedgerHttpError(reject('idempotency_key_reused')) } as const);
      }
      const decision = decide(command, account.state, { principal: envelope.principal, now: envelope.now });
      if (!decision.ok) return { kind: 'rejected', error: new LedgerHttpError(decision.rejection) } as const;
      const events = decision.events.map((event) => {
        const stored = toEventToAppend(event, randomUUID(), {
          commandId: envelope.commandId,
          commandType: command.type,
          idempotencyKey: envelope.idempotencyKey,
          requestHash: envelope.requestHash,
          correlationId: envelope.correlationId,
          causationId: envelope.causationId,
          principal: envelope.principal.id,
          occurredAt: envelope.now,
        });
        const revision = account.revision === 'no_stream' ? 0n : account.revision + 1n;
        // Later commands of the batch are decided on the state these events leave.
        applyRecorded(account, { ...stored, revision });
        toAppend.push(stored);
        return eventJson({ ...stored, revision });
      });
      return {
        kind: 'decided',
        appends: events.length > 0,
        receipt: {
          commandType: command.type,
          commandId: envelope.commandId,
          accountId,
          events,
          revision: account.revision === 'no_stream' ? null : account.revision.toString(),
          buckets: bucketsJson(bucketsOf(account.state)),
          settlement: settlementJson(account.state),
        },
      } as const;
    });
    if (toAppend.length === 0) return { outcomes, position: null };
    const result = await this.store.append(streamId, toAppend, startRevision);
    this.stats.appends += 1;
    // Stored: the cached state is exactly the stream's at its new revision, a sound snapshot.
    takeSnapshotIfDue(account, this.cache.snapshots);
    return { outcomes, position: formatPosition(result.position) };
  }

  /**
   * The stream already holds this request's events (its first answer may have been lost with a
   * stopped process): rebuild that answer from the stream instead of deciding again.
   */
  private async answerAgain(pending: Pending, answered: AnsweredCommand): Promise<ReceiptJson> {
    const accountId = pending.command.accountId;
    const before = emptyAccount(accountId);
    const mine: RecordedEvent[] = [];
    for await (const recorded of this.store.readStream(accountStreamId(accountId))) {
      if (recorded.revision > answered.lastRevision) break;
      applyRecorded(before, recorded);
      if (recorded.revision >= answered.firstRevision) mine.push(recorded);
    }
    const last = mine.at(-1);
    invariant(
      last,
      `the stream holds the events of answered command ${answered.firstRevision}–${answered.lastRevision}`,
    );
    return {
      commandType: pending.command.type,
      commandId: last.metadata.commandId,
      accountId,
      events: mine.map(eventJson),
      revision: answered.lastRevision.toString(),
      position: formatPosition(last.position),
      buckets: bucketsJson(bucketsOf(before.state)),
      settlement: settlementJson(before.state),
    };
  }
}
