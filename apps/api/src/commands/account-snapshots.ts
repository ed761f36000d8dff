/**
 * Snapshots of billing accounts, so that an account with a long stream is loaded from its latest
 * snapshot and the events after it, not folded from its first event. A snapshot is a cache: the
 * stream stays the truth, a lost or discarded snapshot only costs a longer load, and one of another
 * version is never used.
 *
 * They live in the ledger's Postgres (whichever store holds the events) and are written through the
 * asynchronous-commit pool: a crash may lose the newest snapshot, never an event.
 *
 * A snapshot leaves the archive out: the archived ids it holds in memory go to `archived_ids`, in
 * the statement that writes the snapshot, and the snapshot's state says its archive is kept there
 * (ledger archive.ts, `stored`). A million-event account then loads as fast as a short one, and the
 * ids a command names are looked up (ArchivedIdLookups) before it is decided. A snapshot without its
 * ids can therefore never be read: both land, or neither.
 */
import {
  archivedInMemory,
  decodeSnapshot,
  encodeSnapshot,
  STATE_SNAPSHOT_VERSION,
  storedArchivedIds,
  type AccountState,
  type Base64Codec,
} from '@ledger/domain';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import type { AnsweredCommand } from './account-cache';

/** Bump when the shape of the answered requests stored beside the state changes (account-cache.ts). */
export const ANSWERED_SNAPSHOT_VERSION = 2;

/** A snapshot of another version is never used: the state's declared version and this shape's. */
export const SNAPSHOT_VERSION = `state-${STATE_SNAPSHOT_VERSION}.answered-${ANSWERED_SNAPSHOT_VERSION}`;

/** Events replayed after a snapshot (or from the start) before a load writes a fresh one. */
export const SNAPSHOT_AFTER_EVENTS = 1000;

/**
 * Whether an account that has moved `since` events past its last snapshot should take another.
 * At least every SNAPSHOT_AFTER_EVENTS events, but no more often than a quarter of the stream's
 * length: encoding costs as much as the state is large, and a state grows with its stream, so this
 * keeps the cost per event flat.
 */
export const snapshotDue = (revision: bigint, since: bigint, every = SNAPSHOT_AFTER_EVENTS): boolean =>
  since >= BigInt(every) && since * 4n >= revision;

/** Node's own base64: the archive of a million-event account in well under a millisecond. */
const nodeBase64: Base64Codec = {
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  decode: (text) => Buffer.from(text, 'base64'),
};

export interface AccountSnapshot {
  readonly revision: bigint;
  readonly state: AccountState;
  readonly answered: Map<string, AnsweredCommand>;
}

export class AccountSnapshots {
  constructor(
    private readonly db: Kysely<LedgerDatabase>,
    readonly version = SNAPSHOT_VERSION,
  ) {}

  async load(streamId: string): Promise<AccountSnapshot | undefined> {
    const row = await this.db
      .selectFrom('account_snapshots')
      .select(['revision', 'version', 'body'])
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    if (!row || row.version !== this.version) return undefined;
    const body = decodeSnapshot<{ state: AccountState; answered: Map<string, AnsweredCommand> }>(row.body, nodeBase64);
    return { revision: BigInt(row.revision), state: body.state, answered: body.answered };
  }

  /**
   * Encodes now (the caller's state may move on as soon as this returns) and stores in the
   * background; keeps whichever snapshot is newer. Resolves once stored; never rejects.
   */
  save(streamId: string, snapshot: AccountSnapshot): Promise<void> {
    // Those archived before the account was loaded from a snapshot are stored already; writing an
    // id again does nothing.
    const archived = archivedInMemory(snapshot.state.archived);
    const state: AccountState = { ...snapshot.state, archived: storedArchivedIds() };
    const body = encodeSnapshot({ state, answered: snapshot.answered }, nodeBase64);
    return sql`
      WITH archived AS (
        INSERT INTO archived_ids (stream_id, fingerprint)
        SELECT ${streamId}, unnest(${archived}::bigint[])
        ON CONFLICT DO NOTHING
      )
      INSERT INTO account_snapshots (stream_id, revision, version, body, taken_at)
      VALUES (${streamId}, ${snapshot.revision}, ${this.version}, ${body}, now())
      ON CONFLICT (stream_id) DO UPDATE
        SET revision = excluded.revision, version = excluded.version, body = excluded.body, taken_at = now()
        WHERE account_snapshots.revision < excluded.revision OR account_snapshots.version <> excluded.version`
      .execute(this.db)
      .then(
        () => undefined,
        () => undefined,
      );
  }
}
