/**
 * With EVENT_STORE=eventstoredb, an EventStoreDB that cannot be reached shows: health answers 503
 * store_unavailable and GET /v1/projections reports the store unavailable (with the checkpoints it
 * still knows), until the server is back. Runs on the in-process EventStoreDB test double.
 */
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
