/**
 * Recent billing accounts kept in memory as folded state, so a hot account costs one append per
 * command instead of a replay.
 *
 * An account's state is what its stream holds, except while a part of it is in flight: the part
 * is decided on the state itself, which then holds decisions not yet stored. Nobody else sees it
 * then — a reader (a preview) waits until the part is settled (AccountCommandRunner.committed) —
 * and it is never committed by hand: a stored part leaves the state as the stream now is, and an
 * account whose part was not stored is dropped and loaded afresh. So each event is folded once,
 * and the stream stays the truth.
 */
import {
  accountStreamId,
  toLedgerEvent,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '@ledger/event-store';
import {
  bucketsOf,
  compactState,
  evolve,
  initialState,
  settlementPosition,
  type AccountState,
  type Buckets,
} from '@ledger/domain';
import { snapshotDue, type AccountSnapshots } from './account-snapshots';
import { idempotencyScope } from './command-envelope';

export interface AnsweredCommand {
  readonly requestHash: string;
  readonly commandType: string;
  readonly firstRevision: bigint;
  readonly lastRevision: bigint;
  /** When it was decided (ms since the epoch): entries older than STREAM_ANSWER_RETENTION_MS go. */
  readonly at: number;
  /** The balance its receipt showed: an answer rebuilt from its events alone needs it. */
  readonly buckets: Buckets;
  readonly settlement: ReturnType<typeof settlementPosition>;
}

export interface LoadedAccount {
  readonly accountId: string;
  /** The stream's state at `revision`; ahead of it while a part is in flight (see above). */
  readonly state: AccountState;
  /** The stream's last revision, or 'no_stream'. */
  revision: bigint | 'no_stream';
  /** Requests this stream has answered, by principal and idempotency key. */
  readonly answered: Map<string, AnsweredCommand>;
  /** The revision of the account's latest snapshot, taken or loaded; null without one. */
  snapshotRevision: bigint | null;
  /** The revision the state was last compacted at (compactState); null: not since it was loaded. */
  compactedAt: bigint | null;
}

/**
 * How long, and for how many requests, an account's stream answers a retry by itself (from its
 * events, docs/idempotency.md): 24 hours of the account's own time, at most 10,000 keys. Postgres
 * keeps every answer longer (72 hours); past both, a retry is decided again, and the ids commands
 * carry (run, grant, hold, account) refuse it as a repeat.
 */
export const STREAM_ANSWER_RETENTION_MS = 24 * 60 * 60 * 1000;
const ANSWERED_MEMORY = 10_000;
/** Events committed between two compactions of a cached account. */
const COMPACT_EVERY_EVENTS = 500n;

/** Applies a recorded event to a loaded account: the domain fold plus the idempotency record. */
export function applyRecorded(
  account: LoadedAccount,
  recorded: Pick<RecordedEvent, 'type' | 'data' | 'metadata' | 'revision'>,
): void {
  evolve(account.state, toLedgerEvent(recorded));
  account.revision = recorded.revision;
  const { metadata, revision } = recorded;
  const seen = account.answered.get(idempotencyScope(metadata.principal, metadata.idempotencyKey));
  rememberAnswer(account, metadata, {
    firstRevision: seen?.firstRevision ?? revision,
    lastRevision: revision,
    buckets: bucketsOf(account.state),
    settlement: settlementPosition(account.state),
  });
}

/** A command of a stored part: its events' metadata, where they landed, the balance it answered. */
export interface StoredCommand {
  readonly metadata: EventMetadata;
  readonly firstRevision: bigint;
  readonly lastRevision: bigint;
  readonly buckets: Buckets;
  readonly settlement: ReturnType<typeof settlementPosition>;
}

/**
 * Settles a stored part: the state already holds its events (they were decided on it), so only
 * the revision moves and each command's answer is remembered.
 */
export function recordStored(account: LoadedAccount, revision: bigint | 'no_stream', stored: readonly StoredCommand[]) {
  account.revision = revision;
  for (const command of stored) rememberAnswer(account, command.metadata, command);
}

/** Records that the stream answered a request, with the revisions of its events and its balance. */
function rememberAnswer(
  account: LoadedAccount,
  metadata: EventMetadata,
  answered: Pick<AnsweredCommand, 'firstRevision' | 'lastRevision' | 'buckets' | 'settlement'>,
) {
  const { principal, idempotencyKey, requestHash, commandType } = metadata;
  const scope = idempotencyScope(principal, idempotencyKey);
  if (!account.answered.has(scope) && account.answered.size >= ANSWERED_MEMORY) {
    account.answered.delete(account.answered.keys().next().value!);
  }
  const at = Date.parse(metadata.occurredAt);
  account.answered.set(scope, {
    requestHash,
    commandType,
    firstRevision: answered.firstRevision,
    lastRevision: answered.lastRevision,
    at,
    buckets: answered.buckets,
    settlement: answered.settlement,
  });
  // Oldest first (the stream's order): what fell out of the retention is at the front.
  for (const [oldest, entry] of account.answered) {
    if (entry.at >= at - STREAM_ANSWER_RETENTION_MS) break;
    account.answered.delete(oldest);
  }
}

/** Compacts the state once enough events went by, or when `force`d; only while no part is in flight. */
export function compactIfDue(account: LoadedAccount, now: string, force = false): void {
  if (account.revision === 'no_stream') return;
  const since = account.revision - (account.compactedAt ?? -1n);
  if (!force && since < COMPACT_EVERY_EVENTS) return;
  compactState(account.state, now);
  account.compactedAt = account.revision;
}

export const emptyAccount = (accountId: string): LoadedAccount => ({
  accountId,
  state: initialState(),
  revision: 'no_stream',
  answered: new Map(),
  snapshotRevision: null,
  compactedAt: null,
});

/**
 * The account's state: from its latest usable snapshot and the events after it when there is one,
 * else folded from the stream's first event. A load that folded many events leaves a snapshot.
 */
export async function loadAccount(
  store: EventStore,
  accountId: string,
  snapshots?: AccountSnapshots,
): Promise<LoadedAccount> {
  const streamId = accountStreamId(accountId);
  const snapshot = await snapshots?.load(streamId);
  const account: LoadedAccount = snapshot
    ? { accountId, ...snapshot, snapshotRevision: snapshot.revision, compactedAt: null }
    : emptyAccount(accountId);
  const from = snapshot ? snapshot.revision + 1n : 0n;
  for await (const recorded of store.readStream(streamId, { fromRevision: from })) applyRecorded(account, recorded);
  compactState(account.state, new Date().toISOString());
  account.compactedAt = account.revision === 'no_stream' ? null : account.revision;
  takeSnapshotIfDue(account, snapshots);
  return account;
}

/** Snapshots the account as it is now if enough events went by since the last one. */
export function takeSnapshotIfDue(account: LoadedAccount, snapshots: AccountSnapshots | undefined): void {
  if (!snapshots || account.revision === 'no_stream') return;
  const since = account.revision - (account.snapshotRevision ?? -1n);
  if (!snapshotDue(account.revision, since)) return;
  account.snapshotRevision = account.revision;
  void snapshots.save(accountStreamId(account.accountId), {
    revision: account.revision,
    state: account.state,
    answered: account.answered,
  });
}

export class AccountCache {
  private readonly entries = new Map<string, LoadedAccount>();
  /** Loads under way: a second caller waits for the first instead of reading the stream again. */
  private readonly loading = new Map<string, Promise<LoadedAccount>>();

  constructor(
    private readonly store: EventStore,
    private readonly capacity = 10_000,
    readonly snapshots?: AccountSnapshots,
  ) {}

  /** The cached account, if any, made the most recently used. */
  peek(accountId: string): LoadedAccount | undefined {
    const cached = this.entries.get(accountId);
    if (cached) {
      // Re-insert to keep Map order as recency order.
      this.entries.delete(accountId);
      this.entries.set(accountId, cached);
    }
    return cached;
  }

  get(accountId: string): Promise<LoadedAccount> {
    const cached = this.peek(accountId);
    if (cached) return Promise.resolve(cached);
    let loading = this.loading.get(accountId);
    if (!loading) {
      loading = loadAccount(this.store, accountId, this.snapshots)
        .then((loaded) => this.keep(loaded))
        .finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, loading);
    }
    return loading;
  }

  forget(accountId: string): void {
    this.entries.delete(accountId);
  }

  /** Caches what was loaded, unless an entry was made meanwhile: that one is at least as new. */
  private keep(loaded: LoadedAccount): LoadedAccount {
    const present = this.entries.get(loaded.accountId);
    if (present) return present;
    this.entries.set(loaded.accountId, loaded);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return loaded;
  }
}
