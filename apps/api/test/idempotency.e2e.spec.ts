/**
 * The idempotency story (docs/idempotency.md), each promise tested against the real thing:
 * parallel duplicates get the first receipt or 409, never 422; a process killed mid-batch leaves
 * no claim behind, and the retries are answered at once, from the stream or decided, never twice;
 * a key answered before is answered from its record, whatever the account's state says now; one
 * command's poisoned answer or event sinks nothing else.
 */
import { randomUUID } from 'node:crypto';
import { GROWTH_PLAN, LedgerClient, monthAround, type BatchedCommand, type JsonBody } from '@ledger/client';
import { formatCredits, fold, invariantViolations } from '@ledger/domain';
import { accountStreamId, toEventToAppend, toLedgerEvent, type RecordedEvent } from '@ledger/event-store';
import { sql } from 'kysely';
import { CommandAppender } from '../../../apps/api/src/commands/command-appender';
import { IdempotencyStore } from '../../../apps/api/src/commands/idempotency-store';
import { startApiProcess } from '../../../test/support/api-process';
import { startTestLedger, testEventStoreKind, type TestLedger } from '../../../test/support/ledger-api';
import { waitUntil } from '../../../test/support/wait';

let ledger: TestLedger;

beforeAll(async () => {
  ledger = await startTestLedger();
});
afterAll(async () => {
  await ledger?.close();
});

const onPostgres = testEventStoreKind() === 'postgres' ? it : it.skip;

async function streamOf(accountId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const recorded of ledger.api.infrastructure.eventStore.readStream(accountStreamId(accountId))) {
    events.push(recorded);
  }
  return events;
}

async function openAccount(client: LedgerClient, credits: string): Promise<string> {
  const accountId = `idem-${randomUUID().slice(0, 8)}`;
  const answer = await client.commandBatch([
    { type: 'OpenBillingAccount', body: { accountId, name: accountId }, idempotencyKey: randomUUID() },
    {
      type: 'StartSubscription',
      params: { accountId },
      body: { plan: { ...GROWTH_PLAN, includedCredits: '0' }, period: monthAround(new Date()) },
      idempotencyKey: randomUUID(),
    },
    { type: 'AttachProject', params: { accountId }, body: { projectId: 'p1' }, idempotencyKey: randomUUID() },
    {
      type: 'GrantCredits',
      params: { accountId },
      body: { grantId: 'g1', source: 'top_up', amount: credits },
      idempotencyKey: randomUUID(),
    },
  ]);
  expect(answer.body.results.map((result: JsonBody) => result.status)).toEqual([200, 200, 200, 200]);
  return accountId;
}

const runBody = (runId: string) => ({
  runId,
  projectId: 'p1',
  action: 'workflow.run',
  capabilityBand: 'standard',
  estimatedCost: '1',
});

describe('parallel duplicates', () => {
  it('the same key sent 12 times at once: the first receipt or 409 in flight, never 422, appended once', async () => {
    const client = ledger.client();
    for (let round = 0; round < 5; round++) {
      const accountId = await openAccount(client, '100');
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => client.command(`/v1/accounts/${accountId}/runs`, runBody('twin'), key)),
      );
      const receipts = answers.filter((answer) => answer.status === 200);
      expect(receipts.length).toBeGreaterThanOrEqual(1);
      for (const answer of answers.filter((a) => a.status !== 200)) {
        expect(answer.status).toBe(409);
        expect(answer.body.code).toBe('idempotency_key_in_flight');
      }
      for (const receipt of receipts) expect(receipt.body).toEqual(receipts[0]!.body);
      // Once answered, every retry gets that first receipt.
      const later = await client.command(`/v1/accounts/${accountId}/runs`, runBody('twin'), key);
      expect(later.body).toEqual(receipts[0]!.body);
      expect((await streamOf(accountId)).filter((event) => event.type === 'RunAccepted')).toHaveLength(1);
    }
  });

  it('the same key twice in one batch: one receipt, the repeat answered 409, appended once', async () => {
    const client = ledger.client();
    const accountId = await openAccount(client, '10');
    const command: BatchedCommand = {
      type: 'AcceptRun',
      params: { accountId },
      body: runBody('dup'),
      idempotencyKey: randomUUID(),
    };
    const answer = await client.commandBatch([command, command]);
    const statuses = (answer.body.results as JsonBody[]).map((result) => result.status);
    expect(statuses.sort()).toEqual([200, 409]);
    expect((await streamOf(accountId)).filter((event) => event.type === 'RunAccepted')).toHaveLength(1);
  });
});

describe('a key answered before', () => {
  it('keeps its first answer when the account would now decide otherwise; its neighbours are decided', async () => {
    const client = ledger.client();
    const accountId = await openAccount(client, '5');
    const key = randomUUID();
    const first = await client.command(
      `/v1/accounts/${accountId}/runs`,
      { ...runBody('big'), estimatedCost: '50' },
      key,
    );
    expect(first.status).toBe(402);
    const granted = await client.command(
      `/v1/accounts/${accountId}/grants`,
      { grantId: 'g2', source: 'top_up', amount: '100' },
      randomUUID(),
    );
    expect(granted.status).toBe(200);

    // The same request, now affordable, in a batch beside a new command for the same account.
    const retried = await client.commandBatch([
      {
        type: 'AcceptRun',
        params: { accountId },
        body: { ...runBody('big'), estimatedCost: '50' },
        idempotencyKey: key,
      },
      { type: 'AcceptRun', params: { accountId }, body: runBody('neighbour'), idempotencyKey: randomUUID() },
      { type: 'AcceptRun', params: { accountId }, body: runBody('other'), idempotencyKey: key.replace(/.$/, 'x') },
    ]);
    const [again, neighbour] = retried.body.results as JsonBody[];
    expect(again).toEqual({ status: 402, body: first.body });
    expect(neighbour!.status).toBe(200);
    // Another request under the first key is refused as a reuse.
    const reused = await client.command(`/v1/accounts/${accountId}/runs`, runBody('different'), key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');

    const runs = (await streamOf(accountId)).filter((event) => event.type === 'RunAccepted').map((e) => e.data.runId);
    expect(runs.sort()).toEqual(['neighbour', 'other']);
  });
});

describe('a process killed mid-batch', () => {
  onPostgres(
    'leaves no claim behind: retries are answered at once, from the stream or decided, never twice',
    async () => {
      const db = ledger.api.infrastructure.db;
      const victim = await startApiProcess(ledger.database.url);
      const victimClient = new LedgerClient(victim.url, 'service-key-all');
      const accounts = await Promise.all(Array.from({ length: 4 }, () => openAccount(victimClient, '1000')));
      const commands: BatchedCommand[] = Array.from({ length: 1000 }, (_, i) => ({
        type: 'AcceptRun',
        params: { accountId: accounts[i % accounts.length]! },
        body: runBody(`kill-${i}`),
        idempotencyKey: `kill-${i}`,
      }));
      // Ten batches at once, killed as soon as the first of them is stored: the rest may be decided,
      // stored or neither when the process dies.
      const sent = Array.from({ length: 10 }, (_, i) =>
        victimClient.commandBatch(commands.slice(i * 100, (i + 1) * 100)).catch((error: unknown) => error),
      );
      await waitUntil(async () => {
        const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM events WHERE type = 'RunAccepted' AND stream_id = ANY(${accounts.map(accountStreamId)})`.execute(
          db,
        );
        return Number(rows[0]?.n) > 0;
      }, 'the victim to store some of the batches');
      await victim.kill();
      await Promise.all(sent);

      // A key's row is written only with its answer, by the statement that appends: none is left claimed.
      const { rows: claimed } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM idempotency_keys WHERE idempotency_key LIKE 'kill-%' AND response_status IS NULL`.execute(
        db,
      );
      expect(Number(claimed[0]?.n)).toBe(0);
      // Nor does any process hold a lease: on Postgres nothing reads one.
      const { rows: leases } = await sql<{ n: string }>`SELECT count(*) AS n FROM command_owners`.execute(db);
      expect(Number(leases[0]?.n)).toBe(0);

      const retried = await ledger.client().commandBatch(commands);
      const results = retried.body.results as JsonBody[];
      expect(results.map((result) => result.status)).toEqual(Array(1000).fill(200));

      // Each run is in its stream exactly once, and its receipt shows those very events.
      for (const accountId of accounts) {
        const stream = await streamOf(accountId);
        const state = fold(stream.map(toLedgerEvent));
        expect(invariantViolations(state)).toEqual([]);
        const accepted = stream.filter((event) => event.type === 'RunAccepted');
        expect(new Set(accepted.map((event) => event.data.runId)).size).toBe(accepted.length);
        expect(accepted).toHaveLength(250);
        expect(formatCredits(state.totals.reserved)).toBe('250');
      }
      const eventIds = new Set(
        (await Promise.all(accounts.map(streamOf))).flat().map((event) => event.metadata.eventId),
      );
      for (const result of results) {
        for (const event of result.body.events as JsonBody[]) expect(eventIds.has(event.eventId)).toBe(true);
      }
      const again = await ledger.client().commandBatch(commands);
      expect(again.body).toEqual(retried.body);
    },
  );
});

describe('one poisoned command', () => {
  onPostgres('an answer echoing text jsonb refuses is stored, with its neighbours', async () => {
    const { db, answersDb, eventStore } = ledger.api.infrastructure;
    const appender = new CommandAppender(
      eventStore,
      new IdempotencyStore(answersDb, { id: 'test-owner' } as never, eventStore),
    );
    const [good, poisoned] = [`poison-${randomUUID()}`, `poison-${randomUUID()}`];
    const answer = (streamId: string, body: unknown) => ({
      streamId,
      principalId: 'test',
      key: streamId,
      requestHash: 'h',
      commandType: 'OpenBillingAccount',
      status: 409,
      body: JSON.stringify(body),
      lastRevision: null,
    });
    const stored = await appender.store(
      [
        { streamId: good, events: [], expected: 'no_stream' },
        { streamId: poisoned, events: [], expected: 'no_stream' },
      ],
      [answer(good, { message: 'fine' }), answer(poisoned, { message: 'a\u0000b' })],
    );
    expect(stored.outcomes.map((outcome) => outcome.ok)).toEqual([true, true]);
    const { rows } = await sql<{ idempotency_key: string; response_body: string }>`
      SELECT idempotency_key, response_body FROM idempotency_keys WHERE idempotency_key IN (${good}, ${poisoned})`.execute(
      db,
    );
    expect(rows.map((row) => JSON.parse(row.response_body) as unknown)).toEqual(
      expect.arrayContaining([{ message: 'fine' }, { message: 'a\u0000b' }]),
    );
  });

  onPostgres('an event Postgres cannot store fails its own part only', async () => {
    const { answersDb, eventStore } = ledger.api.infrastructure;
    const appender = new CommandAppender(
      eventStore,
      new IdempotencyStore(answersDb, { id: 'test-owner' } as never, eventStore),
    );
    const [good, poisoned] = [`poison-${randomUUID()}`, `poison-${randomUUID()}`];
    const event = (text: string) =>
      toEventToAppend({ type: 'BillingAccountOpened', data: { accountId: 'x', name: text } } as never, randomUUID(), {
        commandId: randomUUID(),
        commandType: 'OpenBillingAccount',
        idempotencyKey: randomUUID(),
        requestHash: 'h',
        correlationId: 'c',
        causationId: 'c',
        principal: 'test',
        occurredAt: new Date().toISOString(),
      });
    const stored = await appender.store(
      [
        { streamId: accountStreamId(good), events: [event('fine')], expected: 'no_stream' },
        // jsonb refuses \u0000 in a string: this part's statement cannot succeed.
        { streamId: accountStreamId(poisoned), events: [event('a\u0000b')], expected: 'no_stream' },
      ],
      [],
    );
    expect(stored.outcomes[0]).toMatchObject({ ok: true });
    expect(stored.outcomes[1]).toMatchObject({ ok: false, failure: expect.anything() });
    expect(await streamOf(good)).toHaveLength(1);
    expect(await streamOf(poisoned)).toHaveLength(0);
  });

  onPostgres(
    'a key answered by a statement that committed meanwhile: its part is vetoed, the others stored',
    async () => {
      const { db, pool, answersDb, eventStore } = ledger.api.infrastructure;
      const appender = new CommandAppender(
        eventStore,
        new IdempotencyStore(answersDb, { id: 'test-owner' } as never, eventStore),
      );
      const [good, contested] = [`race-${randomUUID()}`, `race-${randomUUID()}`];
      const answer = (streamId: string) => ({
        streamId: accountStreamId(streamId),
        principalId: 'test',
        key: streamId,
        requestHash: 'h',
        commandType: 'OpenBillingAccount',
        status: 200,
        body: JSON.stringify({ mine: true }),
        lastRevision: 0n,
      });
      const opened = (accountId: string) =>
        toEventToAppend({ type: 'BillingAccountOpened', data: { accountId, name: accountId } }, randomUUID(), {
          commandId: randomUUID(),
          commandType: 'OpenBillingAccount',
          idempotencyKey: accountId,
          requestHash: 'h',
          correlationId: 'c',
          causationId: 'c',
          principal: 'test',
          occurredAt: new Date().toISOString(),
        });
      // Another statement has answered the contested key and not committed yet: the store's veto
      // cannot see it, and its insert waits on it.
      const holder = await pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(
          `INSERT INTO idempotency_keys (principal_id, idempotency_key, request_hash, command_type, response_status,
           response_body, completed_at) VALUES ('test', $1, 'h', 'OpenBillingAccount', 200, '{"theirs":true}', now())`,
          [contested],
        );
        const storing = appender.store(
          [
            { streamId: accountStreamId(good), events: [opened(good)], expected: 'no_stream' },
            { streamId: accountStreamId(contested), events: [opened(contested)], expected: 'no_stream' },
          ],
          [answer(good), answer(contested)],
        );
        await waitUntil(async () => {
          const { rows } = await holder.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
          );
          return Number(rows[0].n) > 0;
        }, 'the store to wait on the contested key');
        await holder.query('COMMIT');
        const { outcomes } = await storing;
        expect(outcomes[0]).toMatchObject({ ok: true });
        expect(outcomes[1]).toEqual({
          ok: false,
          vetoed: [
            {
              principalId: 'test',
              key: contested,
              requestHash: 'h',
              status: 200,
              body: '{"theirs":true}',
              position: null,
            },
          ],
        });
      } finally {
        holder.release();
      }
      expect(await streamOf(good)).toHaveLength(1);
      expect(await streamOf(contested)).toHaveLength(0);
      const { rows } = await sql<{ idempotency_key: string; response_body: string }>`
      SELECT idempotency_key, response_body FROM idempotency_keys WHERE idempotency_key IN (${good}, ${contested})
      ORDER BY idempotency_key = ${good}`.execute(db);
      expect(rows.map((row) => row.response_body)).toEqual(['{"theirs":true}', '{"mine":true}']);
    },
  );
});
