/**
 * With EVENT_STORE=eventstoredb, an EventStoreDB that cannot be reached shows: health answers 503
 * store_unavailable and GET /v1/projections reports the store unavailable (with the checkpoints it
 * still knows), until the server is back; a command whose batch append is lost to a dropped
 * stream or connection is still answered, its events stored once. Runs on the in-process
 * EventStoreDB test double.
 */
import { accountStreamId } from '@ledger/event-store';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../../../test/support/eventstoredb-double/eventstoredb-double';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { waitUntil } from '../../../test/support/wait';

let double: EventStoreDbDouble;
let ledger: TestLedger;

beforeAll(async () => {
  double = await startEventStoreDbDouble();
  ledger = await startTestLedger({ eventStore: 'eventstoredb', eventStoreConnectionString: double.connectionString });
});

afterAll(async () => {
  await ledger?.close();
  await double?.stop();
});

it('reports an EventStoreDB outage in health and projection status, and recovers', async () => {
  const client = ledger.client('dashboard-key-all');
  expect((await client.request('GET', '/health', {})).status).toBe(200);
  const before = await client.request<{ eventStore: { status: string } }>('GET', '/v1/projections', {});
  expect(before.body.eventStore).toEqual({ status: 'ok', error: null });

  await double.stop();
  const health = await client.request<{ code: string }>('GET', '/health', {});
  expect([health.status, health.body.code]).toEqual([503, 'store_unavailable']);
  const down = await client.request<{ eventStore: { status: string }; projections: { lagEvents: number | null }[] }>(
    'GET',
    '/v1/projections',
    {},
  );
  expect(down.status).toBe(200);
  expect(down.body.eventStore.status).toBe('unavailable');
  expect(down.body.projections.every((projection) => projection.lagEvents === null)).toBe(true);

  await double.start();
  await waitUntil(async () => (await client.request('GET', '/health', {})).status === 200, 'health to recover', {
    intervalMs: 100,
  });
  const after = await client.request<{ eventStore: { status: string } }>('GET', '/v1/projections', {});
  expect(after.body.eventStore.status).toBe('ok');
});

it.each([
  ['the batch stream', 'stream'],
  ['the connection', 'connection'],
] as const)('answers a command whose append %s lost after the write, storing its events once', async (_what, drop) => {
  const client = ledger.client();
  const accountId = `dropped-${drop}`;
  const dropped = double.appends.failNextBatchAppend({ at: 'after-write', drop });
  const opened = await client.command('/v1/accounts', { accountId, name: accountId }, `open-${drop}`);
  expect(opened.status).toBe(200);
  await dropped;

  const stored = [];
  for await (const event of ledger.api.infrastructure.eventStore.readStream(accountStreamId(accountId))) {
    stored.push(event);
  }
  expect(stored.map((event) => event.type)).toEqual(['BillingAccountOpened']);
  // The same command again is answered as before, and appends nothing.
  const again = await client.command('/v1/accounts', { accountId, name: accountId }, `open-${drop}`);
  expect([again.status, again.body]).toEqual([opened.status, opened.body]);
  expect(double.log.streams.get(accountStreamId(accountId))).toHaveLength(1);
});
