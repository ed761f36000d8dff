/**
 * At least once across a crash, with the real projector process: the receiver holds a delivery's
 * request open, the process is SIGKILLed mid-delivery, alerts keep coming while it is down, and a
 * restarted process delivers every one of them. The held delivery arrives again with the same id
 * (the receiver deduplicates on it), and the log shows the attempt that never got its answer.
 */
import type { WebhookDelivery } from '@ledger/contract';
import { startTestLedger, TEST_KEYS, type TestLedger } from '../../../test/support/ledger-api';
import { GENEROUS_DEADLINE_MS, waitFor, waitUntil } from '../../../test/support/wait';
import { defineRule, fireAlert, openAccount } from './support/alerts';
import { startReceiver, type Receiver } from './support/webhook-receiver';
import { buildWorkers, startWorker, type Build } from './support/workers';

const ADMIN = { key: 'admin-key-all', principal: 'ops', role: 'admin', accounts: '*' };
const SECRET = 'whsec_crash_0123456789abcdef';

let ledger: TestLedger;
let receiver: Receiver;
let build: Build;

beforeAll(async () => {
  ledger = await startTestLedger({
    apiKeysJson: JSON.stringify([...TEST_KEYS, { ...ADMIN, rateLimit: { perSecond: 1e6, burst: 1e6 } }]),
  });
  receiver = await startReceiver();
  build = await buildWorkers();
}, 600_000);

afterAll(async () => {
  await receiver?.close();
  await build?.remove();
  await ledger?.close();
});

const env = () => ({
  DATABASE_URL: ledger.database.url,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'on',
  // Long enough that the held request never times out before the kill; its lease then runs out
  // (twice this and a second) and the restarted worker takes the delivery over.
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_MS: '200',
  WEBHOOK_POLL_MS: '50',
});

async function deliveries(): Promise<WebhookDelivery[]> {
  const { status, body } = await ledger.client(ADMIN.key).get('/v1/webhook-deliveries?endpointId=held&limit=200');
  expect(status).toBe(200);
  return body.deliveries as WebhookDelivery[];
}

test('SIGKILLed mid-delivery and restarted, it delivers every alert, none lost', async () => {
  const store = ledger.api.infrastructure.eventStore;
  await openAccount(store, 'crash');
  await defineRule(store, 'crash', 'low');
  receiver.route('/held', SECRET, (n) => (n === 1 ? 'hang' : 200));
  const defined = await ledger.client(ADMIN.key).command(
    '/v1/webhook-endpoints',
    {
      endpointId: 'held',
      url: receiver.url('/held'),
      secret: SECRET,
      eventTypes: ['alert.fired'],
      accounts: ['crash'],
    },
    'endpoint-held',
  );
  expect(defined.status).toBe(200);

  const first = startWorker(build.script('main'), [], env());
  await first.waitFor('webhook delivery worker started');
  const held = await fireAlert(store, 'crash', 'low');
  await waitUntil(() => receiver.hanging('/held') === 1, 'the receiver holding the first delivery open');
  first.process.kill('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');

  // Alerts while no worker runs: the projector will put them in the outbox when it is back.
  const later: string[] = [];
  for (let i = 0; i < 4; i++) later.push(await fireAlert(store, 'crash', 'low', { clearFirst: true }));

  const second = startWorker(build.script('main'), [], env());
  try {
    const all = [held, ...later];
    const log = await waitFor(
      deliveries,
      (found) =>
        found.length === all.length &&
        found.every((d) => d.status === 'delivered' && d.attempts.every((a) => a.finishedAt !== null)),
      'every alert delivered after the restart',
      { timeoutMs: GENEROUS_DEADLINE_MS },
    );
    expect(new Set(log.map((d) => d.eventId))).toEqual(new Set(all));
    const heldLog = log.find((d) => d.eventId === held)!;
    expect(heldLog.attempts[0]).toMatchObject({
      attempt: 1,
      statusCode: null,
      error: expect.stringMatching(/no outcome/),
    });
    expect(heldLog.attempts.at(-1)).toMatchObject({ statusCode: 200 });

    // At least once: the held one arrived twice, with the same id; every one verified.
    const ids = receiver.received('/held').map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(ids.filter((id) => id === held)).toHaveLength(2);
    expect(new Set(ids)).toEqual(new Set(all));
    expect(receiver.received('/held').every((r) => r.verified)).toBe(true);
  } finally {
    second.process.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  }
}, 600_000);
