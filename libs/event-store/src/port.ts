/**
 * The event store, as the ledger needs it: append to one stream under an expected revision, read a
 * stream, read and subscribe to the global log. Two adapters implement it (Postgres now,
 * EventStoreDB next); one conformance suite states the contract both keep.
 */

/** What the appender believes the stream's last revision is. Revisions count from 0. */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

/**
 * A place in the global log, ordered by (commit, prepare). For EventStoreDB these are its
 * commit/prepare positions; for Postgres, the appending transaction's id and the event's sequence.
 */
export interface GlobalPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export interface EventMetadata {
  readonly eventId: string;
  readonly schemaVersion: number;
  readonly commandId: string;
  readonly commandType: string;
  readonly idempotencyKey: string;
  /** Hash of the request that carried the idempotency key: a retry must match it. */
  readonly requestHash: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly principal: string;
  /** When the command was decided (ISO-8601), the time the domain was given. */
  readonly occurredAt: string;
}

export interface EventToAppend {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent extends EventToAppend {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  /**
   * Present only when the store holds an event here that it cannot read as a ledger event (in
   * EventStoreDB: written by someone else as binary, or with data or metadata that is not a JSON
   * object). Its `data` is then empty and its `metadata` a placeholder; `toLedgerEvent` refuses it,
   * so that a reader stops at it visibly rather than skipping it or failing inside the store.
   */
  readonly undecodable?: UndecodableEvent;
}

export interface UndecodableEvent {
  /** Why it cannot be read, in words. */
  readonly reason: string;
  /** The stored data and metadata, as the store returned them. */
  readonly storedData: Uint8Array;
  readonly storedMetadata: Uint8Array;
}

export interface AppendResult {
  /** The revision of the last event appended (the stream's new revision). */
  readonly revision: bigint;
  /** The global position of the last event appended. */
  readonly position: GlobalPosition;
}

/** One stream's part of a multi-stream append. */
export interface StreamAppend {
  readonly streamId: string;
  /** May be empty: then the expected revision is only checked. */
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
}

/**
 * What became of one stream's part: stored (its last event's revision and position; null when it
 * appended nothing), or refused because the stream was not at the expected revision.
 */
export type StreamAppendOutcome =
  | { readonly ok: true; readonly result: AppendResult | null }
  | { readonly ok: false; readonly conflict: WrongExpectedRevision };

export interface ReadAllOptions {
  /** Read events strictly after this position; from the start when absent. */
  readonly after?: GlobalPosition;
  readonly maxCount?: number;
  /** Only streams whose id starts with this prefix. */
  readonly streamPrefix?: string;
}

export interface SubscribeOptions {
  readonly after?: GlobalPosition;
  readonly streamPrefix?: string;
  /** Ends the subscription: the iterator finishes. */
  readonly signal?: AbortSignal;
}

export interface EventStore {
  append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * Appends to many distinct streams, each under its own expected revision, answering per stream
   * in order: a conflict on one stream refuses only that stream's part, never the others'. Whether
   * the parts commit together is the adapter's (Postgres: one statement; EventStoreDB: one append
   * per stream), so callers must treat each part on its own.
   */
  appendMany(appends: readonly StreamAppend[]): Promise<StreamAppendOutcome[]>;
  /** The stream's events from a revision on, in order; empty when the stream does not exist. */
  readStream(streamId: string, options?: { fromRevision?: bigint }): AsyncIterable<RecordedEvent>;
  /** One page of the global log, in position order, holding only committed events. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Every event after a position, exactly once and in position order: the backlog first (catch-up),
   * then new events as they are committed (live), until the signal aborts.
   */
  subscribeToAll(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  /** The position of the newest committed event, or null for an empty store. */
  headPosition(): Promise<GlobalPosition | null>;
  /** How many committed events lie after a position (all of them without one): a projection's lag. */
  countAfter(options?: Pick<ReadAllOptions, 'after' | 'streamPrefix'>): Promise<number>;
  close(): Promise<void>;
}

export class WrongExpectedRevision extends Error {
  override readonly name = 'WrongExpectedRevision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, found ${String(actual)}`);
  }
}

export const comparePositions = (a: GlobalPosition, b: GlobalPosition): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

/** Positions travel as "commit/prepare" strings: opaque to callers, exact, and comparable by us. */
export const formatPosition = (p: GlobalPosition): string => `${p.commit}/${p.prepare}`;

export function parsePosition(text: string): GlobalPosition | undefined {
  const [, commit, prepare] = /^(\d{1,20})\/(\d{1,20})$/.exec(text) ?? [];
  return commit !== undefined && prepare !== undefined
    ? { commit: BigInt(commit), prepare: BigInt(prepare) }
    : undefined;
}
