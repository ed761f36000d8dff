/**
 * Loading an account from a snapshot: the same account as a full replay (state, revision and
 * idempotency record; its archived ids in Postgres instead of in the state), a snapshot written
 * once enough events were folded, and one of another version (another evolve) ignored. Decisions
 * on such an account find what they need after the lookups (archived-id-lookups.ts).
 */
import { randomUUID } from 'node:crypto';
import { accountStreamId, appendToStream, PostgresEventStore, toEventToAppend } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import {
  acceptRunCommand,
  at,
  cmd,
  context,
  credits,
  DAY,
  openedAccountCommands,
  runCommands,
  T0,
} from '../../../libs/ledger/src/test-support';
import { archivedInMemory, decide, type AccountState, type LedgerCommand } from '@ledger/domain';
import { loadAccount, type LoadedAccount } from '../src/commands/account-cache';
import { ArchivedIdLookups } from '../src/commands/archived-id-lookups';
import { AccountSnapshots, SNAPSHOT_AFTER_EVENTS, snapshotDue } from '../src/commands/account-snapshots';
import { ledgerMigrations, type LedgerDatabase } from '@ledger/database';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { waitFor } from '../../../test/support/wait';

const ACCOUNT = 'acct-1';

describe('account snapshots', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: Kysely<LedgerDatabase>;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = createPool(database.url);
    db = createKysely<LedgerDatabase>(pool);
    await migrate(db, ledgerMigrations);
    store = new PostgresEventStore(pool, { pageSize: 100 });
    // Enough commands for more than SNAPSHOT_AFTER_EVENTS events.
    const commands = [
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'g-1', source: 'top_up', amount: credits('100000') }),
    ];
    for (let i = 0; i < 400; i++) {
      commands.push(acceptRunCommand(`run-${i}`, credits('2')));
      if (i % 2 === 0) commands.push(cmd('CompleteRun', { runId: `run-${i}`, actualCost: credits('1.5') }));
    }
    const { events } = runCommands(commands);
    const stored = events.map((event, i) =>
      toEventToAppend(event, randomUUID(), {
        commandId: randomUUID(),
        commandType: 'Test',
        idempotencyKey: `key-${i}`,
        requestHash: 'sha256:test',
        correlationId: 'c',
        causationId: 'c',
        principal: 'svc',
        occurredAt: '2026-11-01T00:00:00.000Z',
      }),
    );
    await appendToStream(pool, accountStreamId(ACCOUNT), stored, 'no_stream');
  });

  afterAll(async () => {
    await store.close();
    await db.destroy();
    await database.drop();
  });

  /** The state but its archive, which a snapshot keeps elsewhere. */
  const withoutArchive = (state: AccountState) => ({ ...state, archived: null });
  /** Every archived fingerprint of a loaded account: in its state, or in Postgres. */
  const everyArchived = async (account: LoadedAccount): Promise<number[]> => {
    const rows = await db
      .selectFrom('archived_ids')
      .select('fingerprint')
      .where('stream_id', '=', accountStreamId(ACCOUNT))
      .execute();
    const all = new Set([...rows.map((row) => Number(row.fingerprint)), ...archivedInMemory(account.state.archived)]);
    return [...all].sort((a, b) => a - b);
  };
  const inMemorySorted = (account: LoadedAccount) => archivedInMemory(account.state.archived).sort((a, b) => a - b);

  const snapshotRow = () =>
    db.selectFrom('account_snapshots').selectAll().where('stream_id', '=', accountStreamId(ACCOUNT)).executeTakeFirst();

  it('takes one when a load folds many events, and loads from it to the same account', async () => {
    const snapshots = new AccountSnapshots(db);
    const replayed = await loadAccount(store, ACCOUNT);
    expect(Number(replayed.revision)).toBeGreaterThan(SNAPSHOT_AFTER_EVENTS);

    await loadAccount(store, ACCOUNT, snapshots);
    // The snapshot is written after the load has answered: wait for it.
    const row = await waitFor(snapshotRow, (found) => found !== undefined, 'the snapshot row');
    expect(row).toMatchObject({ revision: replayed.revision, version: snapshots.version });

    const fromSnapshot = await loadAccount(store, ACCOUNT, snapshots);
    expect(fromSnapshot.snapshotRevision).toBe(replayed.revision);
    expect(withoutArchive(fromSnapshot.state)).toEqual(withoutArchive(replayed.state));
    // The history's completed runs are long past their settlement window: archived, and stored.
    expect(replayed.state.archived.stored).toBeNull();
    expect(inMemorySorted(replayed).length).toBeGreaterThan(100);
    expect(fromSnapshot.state.archived.stored).not.toBeNull();
    expect(inMemorySorted(fromSnapshot)).toEqual([]);
    expect(await everyArchived(fromSnapshot)).toEqual(inMemorySorted(replayed));
    expect(fromSnapshot.revision).toBe(replayed.revision);
    expect(fromSnapshot.answered).toEqual(replayed.answered);
  });

  it('folds the events after the snapshot', async () => {
    const snapshots = new AccountSnapshots(db);
    const before = await loadAccount(store, ACCOUNT, snapshots);
    // Decided on the replayed state: this one's archive is in Postgres, and it was not asked.
    const replayedBefore = await loadAccount(store, ACCOUNT);
    const { events } = runCommands([acceptRunCommand('run-late', credits('3'))], { state: replayedBefore.state });
    await appendToStream(
      pool,
      accountStreamId(ACCOUNT),
      events.map((event) =>
        toEventToAppend(event, randomUUID(), {
          commandId: 'late',
          commandType: 'AcceptRun',
          idempotencyKey: 'late',
          requestHash: 'sha256:late',
          correlationId: 'c',
          causationId: 'c',
          principal: 'svc',
          occurredAt: '2026-11-01T00:00:00.000Z',
        }),
      ),
      before.revision,
    );
    const loaded = await loadAccount(store, ACCOUNT, snapshots);
    const replayed = await loadAccount(store, ACCOUNT);
    expect(loaded.snapshotRevision).toBe(before.revision);
    expect(withoutArchive(loaded.state)).toEqual(withoutArchive(replayed.state));
    expect(await everyArchived(loaded)).toEqual(inMemorySorted(replayed));
    expect(loaded.answered).toEqual(replayed.answered);
    expect(loaded.revision).toBe(replayed.revision);
  });

  it('decides on a snapshot-loaded account as on a replayed one, once the ids commands name are looked up', async () => {
    const snapshots = new AccountSnapshots(db);
    const lookups = new ArchivedIdLookups(db);
    const replayed = await loadAccount(store, ACCOUNT);
    const commands: LedgerCommand[] = [
      acceptRunCommand('run-0', credits('1')), // completed and archived long ago
      acceptRunCommand('run-1', credits('1')), // accepted, never finished: still open
      acceptRunCommand('run-new', credits('1')),
      cmd('CompleteRun', { runId: 'run-2', actualCost: credits('1') }),
      cmd('CompleteRun', { runId: 'run-3', actualCost: credits('1') }),
      cmd('GrantCredits', { grantId: 'g-1', source: 'top_up', amount: credits('1') }),
    ];
    // Inside the account's period (its commands would be refused for the period's end otherwise).
    const inPeriod = context(at(T0, DAY));
    for (const command of commands) {
      const fromSnapshot = await loadAccount(store, ACCOUNT, snapshots);
      expect(fromSnapshot.state.archived.stored).not.toBeNull();
      const before = lookups.statements;
      await lookups.prepare([{ streamId: accountStreamId(ACCOUNT), state: fromSnapshot.state, commands: [command] }]);
      expect(decide(command, fromSnapshot.state, inPeriod)).toEqual(decide(command, replayed.state, inPeriod));
      // What the account holds alive is never looked up.
      if (command.type === 'CompleteRun' && command.runId === 'run-3') expect(lookups.statements).toBe(before);
    }
    expect(decide(commands[0]!, replayed.state, inPeriod)).toMatchObject({ rejection: { code: 'run_archived' } });
    // Deciding without the lookup is a defect of the caller, and fails loudly.
    const unprepared = await loadAccount(store, ACCOUNT, snapshots);
    expect(() => decide(commands[2]!, unprepared.state, inPeriod)).toThrow(/not asked about run "run-new"/);
  });

  it('ignores a snapshot of another version: it was folded by another evolve', async () => {
    const other = new AccountSnapshots(db, 'another-evolve');
    const loaded = await loadAccount(store, ACCOUNT, other);
    expect(loaded.state).toEqual((await loadAccount(store, ACCOUNT)).state);
    // Folded from the first event, so it leaves a snapshot of its own version in place of the old.
    const row = await waitFor(snapshotRow, (found) => found?.version === 'another-evolve', 'the new snapshot');
    expect(row).toMatchObject({ version: 'another-evolve', revision: loaded.revision });
  });

  it('is due at most every quarter of the stream, and at least every SNAPSHOT_AFTER_EVENTS events', () => {
    expect(snapshotDue(5000n, 999n)).toBe(false);
    expect(snapshotDue(3000n, 1000n)).toBe(true);
    expect(snapshotDue(100_000n, 20_000n)).toBe(false);
    expect(snapshotDue(100_000n, 25_000n)).toBe(true);
  });
});
