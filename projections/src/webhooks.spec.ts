/**
 * The webhook outbox against a real Postgres: one row per AlertFired holding the exact body its
 * deliveries send, the same rows however the events are batched (a rebuild writes what the live
 * projector wrote), nothing for other events.
 */
import { event, type LedgerEvent } from '@ledger/domain';
import { accountStreamId, toEventToAppend } from '@ledger/event-store';
import { alertFiredDelivery } from '@ledger/contract';
import { toProjectedEvent, webhooksProjection, type ProjectedEvent } from './index';
import { alertFiredBody } from './webhooks';
import {
  applyInBatches,
  dumpTable,
  openReadModelDatabase,
  truncateReadModels,
  type ReadModelDatabase,
} from './test-support';

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function recorded(events: LedgerEvent[], accountId = 'acme'): ProjectedEvent[] {
  return events.map((data, i) =>
    toProjectedEvent({
      ...toEventToAppend(data, uuid(i + 1), {
        commandId: uuid(100 + i),
        commandType: 'Test',
        idempotencyKey: `key-${i}`,
        requestHash: 'sha256:test',
        correlationId: uuid(100 + i),
        causationId: uuid(100 + i),
        principal: 'svc',
        occurredAt: `2026-12-02T10:00:0${i}.5+00:00`,
      }),
      streamId: accountStreamId(accountId),
      revision: BigInt(i),
      position: { commit: 500n + BigInt(i), prepare: BigInt(i) },
    }),
  );
}

const history = (): ProjectedEvent[] =>
  recorded([
    event('BillingAccountOpened', { accountId: 'acme', name: 'Acme' }),
    event('AlertRuleDefined', { accountId: 'acme', ruleId: 'low', kind: 'available_below', threshold: '50' }),
    event('AlertFired', {
      accountId: 'acme',
      ruleId: 'low',
      kind: 'available_below',
      threshold: '50',
      observed: '42.5',
      subject: null,
    }),
    event('AlertCleared', { accountId: 'acme', ruleId: 'low', kind: 'available_below' }),
    event('AlertRuleDefined', { accountId: 'acme', ruleId: 'exc', kind: 'commercial_exception', threshold: null }),
    event('AlertFired', {
      accountId: 'acme',
      ruleId: 'exc',
      kind: 'commercial_exception',
      threshold: null,
      observed: null,
      subject: 'run-7',
    }),
  ]);

let database: ReadModelDatabase;
beforeAll(async () => {
  database = await openReadModelDatabase();
});
afterAll(() => database?.close());

it('writes one outbox row per AlertFired, its body exactly the delivery', async () => {
  const events = history();
  await applyInBatches(database.db, [webhooksProjection], events, [100]);
  const rows = await dumpTable(database.db, 'webhook_outbox');
  expect(rows.map((row) => row.event_id)).toEqual([uuid(3), uuid(6)]);
  const [low, exception] = rows.map((row) => JSON.parse(String(row.body)) as unknown);
  expect(alertFiredDelivery.parse(low)).toEqual({
    id: uuid(3),
    type: 'alert.fired',
    accountId: 'acme',
    ruleId: 'low',
    kind: 'available_below',
    occurredAt: '2026-12-02T10:00:02.500Z',
    data: { threshold: '50', observed: '42.5', subject: null },
  });
  expect(alertFiredDelivery.parse(exception)).toMatchObject({
    ruleId: 'exc',
    kind: 'commercial_exception',
    data: { threshold: null, observed: null, subject: 'run-7' },
  });
  expect(rows[0]).toMatchObject({ account_id: 'acme', rule_id: 'low', event_type: 'alert.fired' });
  expect(rows[0]!.body).toBe(alertFiredBody(events[2]!));
});

it('writes the same rows, byte for byte, however the events are batched', async () => {
  await truncateReadModels(database.db);
  await applyInBatches(database.db, [webhooksProjection], history(), [100]);
  const once = await dumpTable(database.db, 'webhook_outbox');
  for (const sizes of [[1], [2, 3], [5, 1]]) {
    await truncateReadModels(database.db);
    await applyInBatches(database.db, [webhooksProjection], history(), sizes);
    expect(await dumpTable(database.db, 'webhook_outbox')).toEqual(once);
  }
});
