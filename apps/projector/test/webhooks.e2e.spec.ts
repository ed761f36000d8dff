/**
 * Webhooks end to end, in-process: endpoints defined through the real API, AlertFired events
 * appended to the real event store, the real projector writing the outbox, the delivery worker
 * POSTing to a real HTTP receiver that verifies every signature with the client library. Every wait
 * is on a condition (the receiver's requests, the delivery log), never on the clock.
 */
import { verifyWebhook } from '@ledger/client';
import { alertFiredDelivery, type WebhookDelivery } from '@ledger/contract';
import { freePort, type WebhookConfig } from '@ledger/platform';
import { projectionNamed, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { openTestAccount, sendAccepted } from '../../../test/support/accounts';
import type { TestLedger } from '../../../test/support/ledger-api';
import { waitFor, waitUntil } from '../../../test/support/wait';
import { rebuildProjection } from '../src/rebuild';
import { DeliveryWorker, retryDelayMs } from '../src/webhooks/delivery-worker';
import { defineRule, fireAlert, openAccount } from './support/alerts';
import { startReceiver, type Behaviour, type Receiver } from './support/webhook-receiver';
import { startWebhookRig, WEBHOOK_ADMIN, type WebhookRig } from './support/webhook-rig';

const WEBHOOKS: WebhookConfig = {
  timeoutMs: 1500,
  perEndpointConcurrency: 2,
  concurrency: 8,
  retryBaseMs: 50,
  retryMaxMs: 200,
  horizonMs: 24 * 60 * 60 * 1000,
  pollMs: 50,
  logRetentionMs: 30 * 24 * 60 * 60 * 1000,
  allowPrivateTargets: true,
};
const SECRET = 'whsec_0123456789abcdef0123';

let rig: WebhookRig;
let ledger: TestLedger;
let receiver: Receiver;
let worker: DeliveryWorker;
let seq = 0;

beforeAll(async () => {
  rig = await startWebhookRig(WEBHOOKS);
  ({ ledger, receiver, worker } = rig);
});

afterAll(() => rig?.close());

const admin = () => ledger.client(WEBHOOK_ADMIN.key);
const store = () => ledger.api.infrastructure.eventStore;

async function defineEndpoint(
  endpointId: string,
  path: string,
  accounts: '*' | string[],
  behaviour: Behaviour = () => 200,
) {
  receiver.route(path, SECRET, behaviour);
  const { status, body } = await admin().command(
    '/v1/webhook-endpoints',
    { endpointId, url: receiver.url(path), secret: SECRET, eventTypes: ['alert.fired'], accounts },
    `endpoint-${endpointId}`,
  );
  expect([status, body.endpointId]).toEqual([200, endpointId]);
}

/** A fresh account with one rule, so that each test's alerts are its own. */
async function accountWithRule(): Promise<string> {
  const accountId = `wh-${++seq}`;
  await openAccount(store(), accountId);
  await defineRule(store(), accountId, 'low');
  return accountId;
}

async function deliveries(query: Record<string, string>): Promise<WebhookDelivery[]> {
  const { status, body } = await admin().get(`/v1/webhook-deliveries?${new URLSearchParams(query)}`);
  expect(status).toBe(200);
  return body.deliveries as WebhookDelivery[];
}

const deliveryOf = (eventId: string, endpointId: string) =>
  waitFor(
    async () => (await deliveries({ endpointId })).find((d) => d.eventId === eventId),
    (found) => found !== undefined,
    `a delivery of ${eventId} to ${endpointId}`,
  ).then((found) => found!);

const settled = (eventId: string, endpointId: string, status: WebhookDelivery['status']) =>
  waitFor(
    () => deliveryOf(eventId, endpointId),
    (delivery) => delivery.status === status && delivery.attempts.every((a) => a.finishedAt !== null),
    `the delivery of ${eventId} to ${endpointId} to be ${status}`,
  );

async function outboxBody(eventId: string): Promise<string> {
  const db = ledger.api.infrastructure.db as unknown as Kysely<ReadModelTables>;
  const row = await waitFor(
    () => db.selectFrom('webhook_outbox').selectAll().where('event_id', '=', eventId).executeTakeFirst(),
    (found) => found !== undefined,
    `the outbox row of ${eventId}`,
  );
  return row!.body;
}

it('one alert: exactly one signed delivery, which the receiver verifies', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('one', '/one', [accountId]);
  const eventId = await fireAlert(store(), accountId, 'low');

  const delivered = await settled(eventId, 'one', 'delivered');
  expect(delivered.attempts).toEqual([
    expect.objectContaining({ attempt: 1, statusCode: 200, error: null, finishedAt: expect.any(String) }),
  ]);
  // The snippet of the receiver's answer is kept without its control characters.
  expect(delivered.attempts[0]!.responseSnippet).toBe('answered 200  [31m');
  const [request, ...more] = receiver.received('/one');
  expect(more).toEqual([]);
  expect(request!.verified).toBe(true);
  expect(request!.headers['content-type']).toBe('application/json');
  expect(request!.headers['ledger-event-id']).toBe(eventId);
  // What was sent is the outbox row's text byte for byte, and the contract's body.
  expect(request!.body).toBe(await outboxBody(eventId));
  expect(alertFiredDelivery.parse(JSON.parse(request!.body))).toMatchObject({
    id: eventId,
    type: 'alert.fired',
    accountId,
    ruleId: 'low',
    kind: 'available_below',
    data: { threshold: '50', observed: '42', subject: null },
  });
});

it('a receiver answering 500, then 200: delivered on the retry, both attempts logged', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('flaky', '/flaky', [accountId], (n) => (n === 1 ? 500 : 200));
  const eventId = await fireAlert(store(), accountId, 'low');

  const delivered = await settled(eventId, 'flaky', 'delivered');
  expect(delivered.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
    [1, 500],
    [2, 200],
  ]);
  const requests = receiver.received('/flaky');
  expect(requests).toHaveLength(2);
  expect(requests.every((r) => r.verified)).toBe(true);
  // The same event, the same body, each time: the receiver deduplicates on `id`.
  expect(new Set(requests.map((r) => r.body)).size).toBe(1);
});

it('a hanging receiver times out without holding up another endpoint', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('hang', '/hang', [accountId], (n) => (n === 1 ? 'hang' : 200));
  await defineEndpoint('beside-hang', '/beside-hang', [accountId]);
  const eventId = await fireAlert(store(), accountId, 'low');

  // Delivered beside it while the first request to /hang is still held open.
  await waitUntil(() => receiver.hanging('/hang') === 1, 'the hanging request');
  await settled(eventId, 'beside-hang', 'delivered');
  const hung = await settled(eventId, 'hang', 'delivered');
  expect(hung.attempts[0]).toMatchObject({ statusCode: null, error: `timed out after ${WEBHOOKS.timeoutMs} ms` });
  expect(hung.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(WEBHOOKS.timeoutMs - 50);
  expect(hung.attempts.at(-1)).toMatchObject({ statusCode: 200 });
});

it('a receiver that is down (connection refused) gets every alert once it is up, none lost', async () => {
  const accountId = await accountWithRule();
  const port = await freePort();
  const { status } = await admin().command(
    '/v1/webhook-endpoints',
    {
      endpointId: 'down',
      url: `http://127.0.0.1:${port}/down`,
      secret: SECRET,
      eventTypes: ['alert.fired'],
      accounts: [accountId],
    },
    'endpoint-down',
  );
  expect(status).toBe(200);
  const first = await fireAlert(store(), accountId, 'low');
  const second = await fireAlert(store(), accountId, 'low', { clearFirst: true, observed: '10' });

  // Refused, and retried, while nothing listens.
  await waitFor(
    () => deliveryOf(second, 'down'),
    (delivery) => delivery.attempts.filter((a) => a.error?.includes('ECONNREFUSED')).length >= 2,
    'refused attempts',
  );
  const up = await startReceiver(port);
  try {
    up.route('/down', SECRET, () => 200);
    await settled(first, 'down', 'delivered');
    await settled(second, 'down', 'delivered');
    const ids = up.received('/down').map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(new Set(ids)).toEqual(new Set([first, second]));
    expect(up.received('/down').every((r) => r.verified)).toBe(true);
  } finally {
    await up.close();
  }
});

it('a rebuild of the outbox sends nothing again; a redelivery on request does', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('rebuilt', '/rebuilt', [accountId]);
  const eventId = await fireAlert(store(), accountId, 'low');
  const delivered = await settled(eventId, 'rebuilt', 'delivered');
  const body = await outboxBody(eventId);

  await rebuildProjection({
    db: ledger.api.infrastructure.db as unknown as Kysely<ReadModelTables>,
    store: store(),
    projection: projectionNamed('webhooks'),
    toProjectedEvent,
  });
  // The same row, the same text; the worker finds nothing new in it.
  expect(await outboxBody(eventId)).toBe(body);
  expect(await worker.fanOut()).toBe(0);
  expect(await deliveries({ endpointId: 'rebuilt' })).toEqual([delivered]);
  expect(receiver.received('/rebuilt')).toHaveLength(1);

  const { status, body: again } = await admin().command(
    `/v1/webhook-deliveries/${delivered.deliveryId}/redeliver`,
    {},
    'redeliver-1',
  );
  expect([status, again.status]).toEqual([200, 'pending']);
  const redelivered = await waitFor(
    () => deliveryOf(eventId, 'rebuilt'),
    (d) => d.status === 'delivered' && d.attempts.length === 2 && d.attempts[1]!.finishedAt !== null,
    'the redelivery',
  );
  expect(redelivered.attempts.map((a) => a.statusCode)).toEqual([200, 200]);
  const requests = receiver.received('/rebuilt');
  expect(requests.map((r) => r.body)).toEqual([body, body]);
});

it('an endpoint receives only its accounts and event types; a disabled one nothing until enabled', async () => {
  const mine = await accountWithRule();
  const other = await accountWithRule();
  await defineEndpoint('picky', '/picky', [mine]);
  const disabled = await admin().command('/v1/webhook-endpoints/picky/disable', {}, null);
  expect([disabled.status, disabled.body.status]).toEqual([200, 'disabled']);
  const whileDisabled = await fireAlert(store(), mine, 'low');
  await fireAlert(store(), other, 'low');
  // Fanned out to nobody while disabled (the fan-out has passed it once this returns).
  await outboxBody(whileDisabled);
  await worker.fanOut();
  expect(await deliveries({ endpointId: 'picky' })).toEqual([]);

  const enabled = await admin().command('/v1/webhook-endpoints/picky/enable', {}, null);
  expect([enabled.status, enabled.body.status]).toEqual([200, 'enabled']);
  const after = await fireAlert(store(), mine, 'low', { clearFirst: true });
  await settled(after, 'picky', 'delivered');
  expect((await deliveries({ endpointId: 'picky' })).map((d) => [d.eventId, d.accountId])).toEqual([[after, mine]]);
  expect(receiver.received('/picky')).toHaveLength(1);
});

it('survives losing every database connection, mid-delivery included: nothing lost', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('reconnect', '/reconnect', [accountId], (n) => (n === 1 ? 'hang' : 200));
  const held = await fireAlert(store(), accountId, 'low');
  await waitUntil(() => receiver.hanging('/reconnect') === 1, 'the held delivery');
  // What a Postgres restart does to its clients: every connection of the database dropped at once.
  const admin = new pg.Client({ connectionString: ledger.database.url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ dropped: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS dropped FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    expect(rows[0]!.dropped).toBeGreaterThan(0);
  } finally {
    await admin.end();
  }
  // The test's own pool may still hand out a connection that was dropped: the append then never
  // ran, and is sent again, as a service would.
  let after: string | undefined;
  while (after === undefined) {
    try {
      after = await fireAlert(store(), accountId, 'low', { clearFirst: true });
    } catch (error) {
      if (!/terminat/i.test(String(error))) throw error;
    }
  }
  await settled(held, 'reconnect', 'delivered');
  await settled(after, 'reconnect', 'delivered');
  const ids = receiver.received('/reconnect').map((r) => (JSON.parse(r.body) as { id: string }).id);
  expect(new Set(ids)).toEqual(new Set([held, after]));
});

it('pages the delivery log, newest first', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('paged', '/paged', [accountId]);
  const fired: string[] = [];
  for (let i = 0; i < 3; i++) fired.push(await fireAlert(store(), accountId, 'low', { clearFirst: i > 0 }));
  for (const eventId of fired) await settled(eventId, 'paged', 'delivered');
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `endpointId=paged&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const { body } = await admin().get(`/v1/webhook-deliveries?${query}`);
    expect(body.deliveries.length).toBeLessThanOrEqual(2);
    seen.push(...body.deliveries.map((d: WebhookDelivery) => d.eventId));
    cursor = body.nextCursor;
  } while (cursor);
  expect(seen).toEqual([...fired].reverse());
});

it('an alert for several endpoints is one delivery per endpoint, filtered in the log', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('fan-a', '/fan-a', [accountId]);
  await defineEndpoint('fan-b', '/fan-b', '*');
  const eventId = await fireAlert(store(), accountId, 'low');
  await settled(eventId, 'fan-a', 'delivered');
  await settled(eventId, 'fan-b', 'delivered');
  const forAccount = await deliveries({ accountId });
  expect(forAccount.map((d) => d.endpointId).sort()).toEqual(['fan-a', 'fan-b']);
  expect(await deliveries({ accountId, status: 'failed' })).toEqual([]);
});

test('retries back off exponentially with jitter, up to the cap', () => {
  const delays = [1, 2, 3, 4, 10].map((attempt) => retryDelayMs(attempt, 100, 1000, () => 0.999999));
  expect(delays).toEqual([100, 200, 400, 800, 1000]);
  expect(retryDelayMs(3, 100, 1000, () => 0)).toBe(200);
});

it('a rule defined over HTTP: its crossing by a run fires one signed delivery; staying below fires none', async () => {
  const accountId = `wh-api-${++seq}`;
  const service = ledger.client();
  const send = async (path: string, body: unknown) =>
    (await sendAccepted(service, path, body)) as { events: Array<{ type: string; eventId: string }> };
  await openTestAccount(service, accountId);
  await send(`/v1/accounts/${accountId}/alert-rules`, { ruleId: 'low', kind: 'available_below', threshold: '50' });
  await defineEndpoint('api-driven', '/api-driven', [accountId]);
  const run = (runId: string, estimatedCost: string) =>
    send(`/v1/accounts/${accountId}/runs`, {
      runId,
      projectId: 'p1',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost,
    });

  expect((await run('r1', '30')).events.map((e) => e.type)).not.toContain('AlertFired'); // 70 left
  const crossing = await run('r2', '30'); // 40 left: below 50
  const fired = crossing.events.find((e) => e.type === 'AlertFired');
  expect(fired).toBeDefined();
  expect((await run('r3', '5')).events.map((e) => e.type)).not.toContain('AlertFired'); // still below

  await settled(fired!.eventId, 'api-driven', 'delivered');
  const [request, ...more] = receiver.received('/api-driven');
  expect(more).toEqual([]);
  expect(request!.verified).toBe(true);
  expect(JSON.parse(request!.body)).toEqual({
    id: fired!.eventId,
    type: 'alert.fired',
    accountId,
    ruleId: 'low',
    kind: 'available_below',
    occurredAt: expect.any(String),
    data: { threshold: '50', observed: '40', subject: null },
  });
});

it('a rotated secret: deliveries verify under the new one and, for the window given, the old one', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('rotated', '/rotated', [accountId]);
  const rotated = 'whsec_rotated_fedcba9876543210';
  const rotate = (secret: string, previousSecretValidForSeconds?: number) =>
    admin().command('/v1/webhook-endpoints/rotated/rotate-secret', { secret, previousSecretValidForSeconds }, null);
  expect((await rotate(rotated, 3600)).body).toMatchObject({ secretHint: '…3210', previousSecretHint: '…0123' });

  const during = await fireAlert(store(), accountId, 'low');
  await settled(during, 'rotated', 'delivered');
  const header = (request: { headers: Record<string, unknown> }) => String(request.headers['ledger-signature']);
  const [first] = receiver.received('/rotated');
  const verifies = (secrets: string) =>
    verifyWebhook({ body: first!.body, header: header(first!), secrets, now: new Date() }).ok;
  expect(header(first!).match(/v1=/g)).toHaveLength(2);
  expect([verifies(SECRET), verifies(rotated), verifies('whsec_neither_of_the_two_0000')]).toEqual([true, true, false]);

  // A window of zero: the old secret signs nothing any more.
  await rotate('whsec_third_one_1111111111', 0);
  const after = await fireAlert(store(), accountId, 'low', { clearFirst: true });
  await settled(after, 'rotated', 'delivered');
  const last = receiver.received('/rotated').at(-1)!;
  expect(header(last).match(/v1=/g)).toHaveLength(1);
  expect(
    verifyWebhook({ body: last.body, header: header(last), secrets: 'whsec_third_one_1111111111', now: new Date() }).ok,
  ).toBe(true);
});

it('prunes deliveries that ended longer ago than the log keeps them, never a pending one', async () => {
  const accountId = await accountWithRule();
  await defineEndpoint('pruned', '/pruned', [accountId]);
  const old = await fireAlert(store(), accountId, 'low');
  await settled(old, 'pruned', 'delivered');
  const recent = await fireAlert(store(), accountId, 'low', { clearFirst: true });
  await settled(recent, 'pruned', 'delivered');
  const { db } = ledger.api.infrastructure;
  const month = 31 * 24 * 60 * 60 * 1000;
  await db
    .updateTable('webhook_deliveries')
    .set({ updated_at: new Date(Date.now() - month) })
    .where('event_id', '=', old)
    .where('endpoint_id', '=', 'pruned')
    .execute();
  // An old one still owed: it stays whatever its age (disabled endpoint, so the worker leaves it be).
  await admin().command('/v1/webhook-endpoints/pruned/disable', {}, null);
  const owed = await fireAlert(store(), accountId, 'low', { clearFirst: true });
  await outboxBody(owed);
  await worker.fanOut();
  await db
    .insertInto('webhook_deliveries')
    .values({
      event_id: owed,
      endpoint_id: 'pruned',
      event_type: 'alert.fired',
      account_id: accountId,
      status: 'pending',
      next_attempt_at: new Date(Date.now() + month),
      horizon_from: new Date(Date.now() - month),
      updated_at: new Date(Date.now() - month),
    })
    .execute();

  expect(await worker.prune()).toBe(1);
  const left = await db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'status'])
    .where('endpoint_id', '=', 'pruned')
    .orderBy('seq')
    .execute();
  expect(left).toEqual([
    { event_id: recent, status: 'delivered' },
    { event_id: owed, status: 'pending' },
  ]);
  const attempts = await db
    .selectFrom('webhook_delivery_attempts as a')
    .innerJoin('webhook_deliveries as d', 'd.delivery_id', 'a.delivery_id')
    .select('d.event_id')
    .where('d.endpoint_id', '=', 'pruned')
    .execute();
  expect(attempts.map((a) => a.event_id)).toEqual([recent]);
  const orphans = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM webhook_delivery_attempts a
    WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.delivery_id = a.delivery_id)`.execute(db);
  expect(orphans.rows[0]?.n).toBe(0);
  // The fan-out never goes back: what was pruned is not sent again.
  await worker.fanOut();
  expect(await worker.prune()).toBe(0);
  expect(receiver.received('/pruned').filter((r) => r.body.includes(old))).toHaveLength(1);
});
