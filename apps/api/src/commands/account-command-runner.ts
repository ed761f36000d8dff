/**
 * Load → decide → append, for the commands of every billing account the process has at hand.
 *
 * Commands queue in their account's mailbox. A flush takes the waiting commands of every account
 * that is loaded and not already in flight, decides each account's commands one after another on
 * its state (each sees the events of the ones before it; account-cache.ts says why no one else
 * sees them before they are stored), and stores all of it — every
 * account's events under its own expected revision, and every command's answer — as one statement
 * (command-appender.ts). Under load a flush grows to hold whatever arrived while the one before it
 * was stored, so a statement carries many accounts' commands; alone, a command waits one turn of
 * the event loop.
 *
 * No answer is given before its account's part is stored. An account whose part was refused
 * (another process appended first) is dropped from the cache and its commands are decided again on
 * fresh state, a bounded number of times; the other accounts of the flush are not touched. A part
 * that failed fails only its own commands.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  bucketsOf,
  decide,
  evolve,
  invariant,
  reject,
  settlementPosition,
  type Buckets,
  type LedgerCommand,
} from '@ledger/domain';
import {
  accountStreamId,
  formatPosition,
  toEventToAppend,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
  type StreamAppend,
} from '@ledger/event-store';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { ANSWERS_DATABASE, EVENT_STORE } from '../infrastructure/tokens';
import {
  AccountCache,
  compactIfDue,
  recordStored,
  takeSnapshotIfDue,
  type AnsweredCommand,
  type LoadedAccount,
  type StoredCommand,
} from './account-cache';
import { AccountSnapshots } from './account-snapshots';
import { ArchivedIdLookups } from './archived-id-lookups';
import { CommandAppender, type AnswerRecord, type KnownAnswer, type PartOutcome } from './command-appender';
import { idempotencyScope, type CommandEnvelope } from './command-envelope';
import { earlierAnswer, earlierClaimOf, IdempotencyStore } from './idempotency-store';
import { bucketsJson, eventJson, ReceiptText, settlementJson, type ReceiptJson } from './receipt';

/** Times an account's commands are decided again after another process appended first. */
const MAX_ATTEMPTS = 5;
/** Commands of one account decided in one flush: a whole batch request fits. */
const MAX_PER_ACCOUNT = 1000;
/**
 * Commands past which a flush takes no further account (it holds at most this plus one account's
 * MAX_PER_ACCOUNT). Small enough that a wave of batch requests is split into flushes in flight
 * together — the API decides one while Postgres stores another — instead of one statement that
 * leaves each side idle in turn: measured with batch requests of 100, 150 per flush gave ~10%
 * more commands/s than 2,000 and the least CPU per command (75: less; 300, 600: less).
 */
const MAX_PER_FLUSH = 150;
/** Flushes being stored at once (on distinct accounts). */
const MAX_FLUSHES_IN_FLIGHT = 3;

/** A command's answer: a receipt (200) or a rejection, and whether it is stored against its key. */
export interface CommandAnswer {
  readonly status: number;
  readonly body: unknown;
  /** The body as JSON text, when it was serialised already (a receipt: stored and answered alike). */
  readonly json?: string;
  /** False when the caller must store it (an answer rebuilt from the stream). */
  readonly stored: boolean;
}

interface Pending {
  readonly command: LedgerCommand;
  readonly envelope: CommandEnvelope;
  attempts: number;
  readonly resolve: (answer: CommandAnswer) => void;
  readonly reject: (error: unknown) => void;
}

/** What deciding one command gave; turned into its answer once its account's part is stored. */
type Outcome =
  | { kind: 'rejected'; error: LedgerHttpError }
  | { kind: 'answered_before'; answered: AnsweredCommand }
  | { kind: 'decided'; receipt: ReceiptJson; text: ReceiptText; lastRevision: bigint | null };

/** One account's part of a flush. */
interface Part {
  readonly account: LoadedAccount;
  readonly batch: Pending[];
  readonly outcomes: Outcome[];
  /** Its commands that appended events, to be remembered as answered once the part is stored. */
  readonly stored: StoredCommand[];
  /** The stream's revision once the part is stored. */
  readonly revision: bigint | 'no_stream';
  readonly append: StreamAppend;
}

/**
 * Counters of the command path since the process started, process-wide like metrics counters: the
 * benchmarks read them from the API process they run.
 */
export interface CommandRunnerStats {
  /** Account parts decided again because another process appended to the stream first. */
  conflicts: number;
  /** Statements that stored flushes. */
  appends: number;
  /** Commands decided (accepted, rejected or answered again). */
  commands: number;
  /** Flushes stored. */
  flushes: number;
}

export const commandRunnerStats: CommandRunnerStats = { conflicts: 0, appends: 0, commands: 0, flushes: 0 };

@Injectable()
export class AccountCommandRunner {
  private readonly mailboxes = new Map<string, Pending[]>();
  /** Accounts being loaded or stored: their mailboxes wait. */
  private readonly busy = new Set<string>();
  /** Readers waiting for an account's part in flight to be settled, by account. */
  private readonly readers = new Map<string, Array<() => void>>();
  private flushing = 0;
  private scheduled = false;
  readonly cache: AccountCache;
  /** Asks Postgres about the archived ids that a decision on a snapshot-loaded account needs. */
  readonly archivedIds: ArchivedIdLookups;
  readonly stats = commandRunnerStats;
  private readonly appender: CommandAppender;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ANSWERS_DATABASE) answersDb: Kysely<LedgerDatabase>,
    idempotency: IdempotencyStore,
  ) {
    this.cache = new AccountCache(store, undefined, new AccountSnapshots(answersDb));
    this.archivedIds = new ArchivedIdLookups(answersDb);
    this.appender = new CommandAppender(store, idempotency);
  }

  /** Decides and stores one command; resolves to its answer, rejects only on a failure of ours. */
  run(command: LedgerCommand, envelope: CommandEnvelope): Promise<CommandAnswer> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { command, envelope, attempts: 0, resolve, reject };
      const mailbox = this.mailboxes.get(command.accountId);
      if (mailbox) mailbox.push(pending);
      else this.mailboxes.set(command.accountId, [pending]);
      this.schedule();
    });
  }

  /**
   * Reads an account as its stream holds it (PreviewRun): `read` runs on its state only while no
   * part of it is in flight, so it never sees a decision that may yet be thrown away. `prepare`
   * (the archive lookups a read needs) may wait on I/O, during which a part may come and go: the
   * read then prepares again on the state as it is.
   */
  async readCommitted<T>(
    accountId: string,
    prepare: (account: LoadedAccount) => Promise<void>,
    read: (account: LoadedAccount) => T,
  ): Promise<T> {
    for (;;) {
      const account = await this.settled(accountId);
      await prepare(account);
      if (!this.busy.has(accountId) && this.cache.peek(accountId) === account) return read(account);
    }
  }

  /** The cached account once no part of it is in flight (loaded, if it was not). */
  private async settled(accountId: string): Promise<LoadedAccount> {
    for (;;) {
      while (this.busy.has(accountId)) {
        await new Promise<void>((resolve) => {
          const waiting = this.readers.get(accountId);
          if (waiting) waiting.push(resolve);
          else this.readers.set(accountId, [resolve]);
        });
      }
      const account = await this.cache.get(accountId);
      if (!this.busy.has(accountId)) return account;
    }
  }

  /** The account is no longer loaded or stored: its readers go on. */
  private release(accountId: string): void {
    this.busy.delete(accountId);
    const waiting = this.readers.get(accountId);
    if (!waiting) return;
    this.readers.delete(accountId);
    for (const resume of waiting) resume();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing >= MAX_FLUSHES_IN_FLIGHT) return; // a flush that ends schedules the next
    const taken: Array<{ account: LoadedAccount; batch: Pending[] }> = [];
    let total = 0;
    for (const [accountId, mailbox] of this.mailboxes) {
      if (total >= MAX_PER_FLUSH) break;
      if (this.busy.has(accountId)) continue;
      const account = this.cache.peek(accountId);
      if (!account) {
        this.load(accountId);
        continue;
      }
      const batch = mailbox.splice(0, MAX_PER_ACCOUNT);
      if (mailbox.length === 0) this.mailboxes.delete(accountId);
      this.busy.add(accountId);
      taken.push({ account, batch });
      total += batch.length;
    }
    if (taken.length === 0) return;
    this.flushing += 1;
    try {
      if (await this.prepareDecisions(taken)) {
        await this.storeParts(taken.map(({ account, batch }) => this.decideAll(account, batch)));
      }
    } finally {
      this.flushing -= 1;
      for (const { account } of taken) this.release(account.accountId);
      if (this.mailboxes.size > 0) this.schedule();
    }
  }

  private load(accountId: string): void {
    this.busy.add(accountId);
    this.cache.get(accountId).then(
      () => {
        this.release(accountId);
        this.schedule();
      },
      (error: unknown) => {
        this.release(accountId);
        const waiting = this.mailboxes.get(accountId) ?? [];
        this.mailboxes.delete(accountId);
        for (const pending of waiting) pending.reject(error);
      },
    );
  }

  /** Looks up the archived ids the flush's decisions need; on a failure, fails its commands. */
  private async prepareDecisions(taken: ReadonlyArray<{ account: LoadedAccount; batch: Pending[] }>): Promise<boolean> {
    try {
      await this.archivedIds.prepare(
        taken.map(({ account, batch }) => ({
          streamId: accountStreamId(account.accountId),
          state: account.state,
          commands: batch.map((pending) => pending.command),
        })),
      );
      return true;
    } catch (error) {
      for (const { batch } of taken) for (const pending of batch) pending.reject(error);
      return false;
    }
  }

  /** Decides an account's commands in order on its state. */
  private decideAll(account: LoadedAccount, batch: Pending[]): Part {
    const startRevision = account.revision;
    let revision = account.revision;
    const events: EventToAppend[] = [];
    const stored: StoredCommand[] = [];
    const inBatch = new Set<string>();
    const outcomes = batch.map(({ command, envelope }): Outcome => {
      const scope = idempotencyScope(envelope.principal.id, envelope.idempotencyKey);
      const answered = account.answered.get(scope);
      if (answered) {
        return answered.requestHash === envelope.requestHash
          ? { kind: 'answered_before', answered }
          : { kind: 'rejected', error: new LedgerHttpError(reject('idempotency_key_reused')) };
      }
      // The claim lets one request per key in at a time; this guard keeps a slip from appending twice.
      if (inBatch.has(scope))
        return { kind: 'rejected', error: new LedgerHttpError(reject('idempotency_key_in_flight')) };
      inBatch.add(scope);
      const decision = decide(command, account.state, { principal: envelope.principal, now: envelope.now });
      if (!decision.ok) return { kind: 'rejected', error: new LedgerHttpError(decision.rejection) };
      const firstRevision = revision === 'no_stream' ? 0n : revision + 1n;
      let metadata: EventToAppend['metadata'] | undefined;
      const receiptEvents = decision.events.map((ledgerEvent) => {
        const event = toEventToAppend(ledgerEvent, randomUUID(), {
          commandId: envelope.commandId,
          commandType: command.type,
          idempotencyKey: envelope.idempotencyKey,
          requestHash: envelope.requestHash,
          correlationId: envelope.correlationId,
          causationId: envelope.causationId,
          principal: envelope.principal.id,
          occurredAt: envelope.now,
        });
        revision = revision === 'no_stream' ? 0n : revision + 1n;
        // Later commands of the batch are decided on the state these events leave.
        evolve(account.state, ledgerEvent);
        events.push(event);
        metadata = event.metadata;
        return eventJson({ ...event, revision });
      });
      const buckets: Buckets = bucketsOf(account.state);
      const settlement = settlementPosition(account.state);
      const lastRevision = metadata && revision !== 'no_stream' ? revision : null;
      if (metadata && lastRevision !== null)
        stored.push({ metadata, firstRevision, lastRevision, buckets, settlement });
      const receipt: ReceiptJson = {
        commandType: command.type,
        commandId: envelope.commandId,
        accountId: account.accountId,
        events: receiptEvents,
        revision: revision === 'no_stream' ? null : revision.toString(),
        position: null,
        buckets: bucketsJson(buckets),
        settlement: settlementJson(settlement),
      };
      return { kind: 'decided', lastRevision, receipt, text: new ReceiptText(receipt) };
    });
    const append = { streamId: accountStreamId(account.accountId), events, expected: startRevision };
    return { account, batch, outcomes, stored, revision, append };
  }

  private async storeParts(parts: Part[]): Promise<void> {
    let outcomes: PartOutcome[];
    try {
      const stored = await this.appender.store(
        parts.map((part) => part.append),
        parts.flatMap(answerRecords),
      );
      outcomes = stored.outcomes;
      this.stats.appends += stored.statements;
      this.stats.flushes += 1;
    } catch (error) {
      for (const part of parts) {
        // Whatever happened, the state holds undone decisions: load the account afresh.
        this.cache.forget(part.account.accountId);
        for (const pending of part.batch) pending.reject(error);
      }
      return;
    }
    await Promise.all(parts.map((part, i) => this.settle(part, outcomes[i])));
  }

  private async settle(part: Part, outcome: PartOutcome | undefined): Promise<void> {
    const { account, batch } = part;
    if (!outcome?.ok) {
      // The state holds decisions that were not stored: load the account afresh.
      this.cache.forget(account.accountId);
      if (outcome && ('conflict' in outcome || 'raced' in outcome)) {
        this.stats.conflicts += 1;
        this.retry(account.accountId, batch);
      } else if (outcome && 'vetoed' in outcome) {
        this.retry(account.accountId, this.answerKnown(batch, outcome.vetoed));
      } else {
        const failure =
          outcome && 'failure' in outcome ? outcome.failure : new Error(`no outcome for ${account.accountId}`);
        for (const pending of batch) pending.reject(failure);
      }
      return;
    }
    // Stored: the state is the stream's again, and a sound snapshot.
    recordStored(account, part.revision, part.stored);
    compactIfDue(account, new Date().toISOString());
    takeSnapshotIfDue(account, this.cache.snapshots);
    this.stats.commands += batch.length;
    const positionOf = committedPositions(part.append.expected, outcome.result);
    await Promise.all(
      batch.map(async (pending, i) => {
        const decided = part.outcomes[i];
        try {
          invariant(decided, 'every command of a part has its outcome');
          if (decided.kind === 'rejected') {
            pending.resolve({ status: decided.error.status, body: decided.error.body, stored: true });
          } else if (decided.kind === 'decided') {
            const position = positionOf(decided.lastRevision);
            const body = { ...decided.receipt, position };
            pending.resolve({ status: 200, body, json: decided.text.withPosition(position), stored: true });
          } else {
            pending.resolve({ status: 200, body: await this.answerAgain(pending, decided.answered), stored: false });
          }
        } catch (error) {
          pending.reject(error);
        }
      }),
    );
  }

  /**
   * A part vetoed for holding keys answered before: those commands get what their key holds (the
   * first answer, or 422 for another request, or 409 while a claim is unanswered); the rest are
   * returned, to be decided again.
   */
  private answerKnown(batch: Pending[], known: readonly KnownAnswer[]): Pending[] {
    const byScope = new Map(known.map((row) => [idempotencyScope(row.principalId, row.key), row]));
    return batch.filter((pending) => {
      const row = byScope.get(idempotencyScope(pending.envelope.principal.id, pending.envelope.idempotencyKey));
      if (!row) return true;
      const answer = earlierAnswer(earlierClaimOf(row), pending.envelope.requestHash, pending.envelope.idempotencyKey);
      pending.resolve({ ...answer, stored: true });
      return false;
    });
  }

  /** Puts a refused part's commands back at the front of their mailbox, or gives up on them. */
  private retry(accountId: string, batch: Pending[]): void {
    const again: Pending[] = [];
    for (const pending of batch) {
      pending.attempts += 1;
      if (pending.attempts < MAX_ATTEMPTS) again.push(pending);
      else
        pending.reject(new LedgerHttpError(reject('concurrency_exhausted', undefined, { attempts: pending.attempts })));
    }
    if (again.length === 0) return;
    this.mailboxes.set(accountId, [...again, ...(this.mailboxes.get(accountId) ?? [])]);
  }

  /**
   * The stream already holds this request's events (its first answer may have been lost with a
   * stopped process): rebuild that answer from those events alone, read by revision, and the
   * balance its receipt showed, instead of deciding again.
   */
  private async answerAgain(pending: Pending, answered: AnsweredCommand): Promise<ReceiptJson> {
    const accountId = pending.command.accountId;
    const mine: RecordedEvent[] = [];
    const events = this.store.readStream(accountStreamId(accountId), { fromRevision: answered.firstRevision });
    for await (const recorded of events) {
      if (recorded.revision > answered.lastRevision) break;
      mine.push(recorded);
    }
    const last = mine.at(-1);
    invariant(
      last?.revision === answered.lastRevision,
      `the stream holds the events of answered command ${answered.firstRevision}–${answered.lastRevision}`,
    );
    return {
      commandType: pending.command.type,
      commandId: last.metadata.commandId,
      accountId,
      events: mine.map(eventJson),
      revision: answered.lastRevision.toString(),
      position: formatPosition(last.position),
      buckets: bucketsJson(answered.buckets),
      settlement: settlementJson(answered.settlement),
    };
  }
}

/** The answers a part stores with its events: every decided command's (repeats are answered later). */
function answerRecords(part: Part): AnswerRecord[] {
  return part.batch.flatMap((pending, i): AnswerRecord[] => {
    const outcome = part.outcomes[i];
    if (!outcome || outcome.kind === 'answered_before') return [];
    const common = {
      streamId: part.append.streamId,
      principalId: pending.envelope.principal.id,
      key: pending.envelope.idempotencyKey,
      requestHash: pending.envelope.requestHash,
      commandType: pending.command.type,
    };
    return outcome.kind === 'rejected'
      ? [{ ...common, status: outcome.error.status, body: JSON.stringify(outcome.error.body), lastRevision: null }]
      : [{ ...common, status: 200, body: outcome.text.withPosition(null), lastRevision: outcome.lastRevision }];
  });
}

/**
 * The receipt position of a command whose last event has a given revision: that event's own when
 * the store gave each event's (Postgres), else the part's last; null for a command that appended
 * nothing. A retry answered from the stream rebuilds the same one.
 */
function committedPositions(
  expected: StreamAppend['expected'],
  result: Extract<PartOutcome, { ok: true }>['result'],
): (lastRevision: bigint | null) => string | null {
  const first = expected === 'no_stream' ? 0n : typeof expected === 'bigint' ? expected + 1n : null;
  return (lastRevision) => {
    if (lastRevision === null || !result) return null;
    const own = first === null ? undefined : result.eventPositions?.[Number(lastRevision - first)];
    return formatPosition(own ?? result.position);
  };
}
