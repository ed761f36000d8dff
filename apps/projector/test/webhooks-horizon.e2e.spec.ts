/**
 * A receiver that never answers 2xx: the delivery is retried until its retry horizon, then
 * `failed`, every attempt logged; a redelivery asked for afterwards starts a fresh horizon and
 * delivers once the receiver is back. On its own ledger, with a horizon of a fraction of a second
 * (the other webhook tests' worker would retry it for a day). Every wait is on a condition.
 */
import type { WebhookDelivery } from '@ledger/contract';
import type { WebhookConfig } from '@ledger/platform';
import type { TestLedger } from '../../../test/support/ledger-api';
import { waitFor } from '../../../test/support/wait';
import { defineRule, fireAlert, openAccount } from './support/alerts';
import type { Receiver } from './support/webhook-receiver';
import { startWebhookRig, WEBHOOK_ADMIN, type WebhookRig } from './support/webhook-rig';

const SECRET = 'whsec_horizon_0123456789ab';
const SHORT_HORIZON: WebhookConfig = {
  timeoutMs: 1500,
  perEndpointConcurrency: 1,
  concurrency: 4,
  retryBaseMs: 20,
  retryMaxMs: 40,
  horizonMs: 1000,
  pollMs: 20,
  logRetentionMs: 30 * 24 * 60 * 60 * 1000,
  allowPrivateTargets: true,
};

let rig: WebhookRig;
let ledger: TestLedger;
let receiver: Receiver;
let receiverUp = false;

beforeAll(async () => {
  rig = await startWebhookRig(SHORT_HORIZON);
  ({ ledger, receiver } = rig);
  receiver.route('/down', SECRET, () => (receiverUp ? 200 : 500));
});

afterAll(() => rig?.close());

it('retries until the horizon, then fails; a redelivery later starts afresh and delivers', async () => {
  const admin = ledger.client(WEBHOOK_ADMIN.key);
  const store = ledger.api.infrastructure.eventStore;
  const defined = await admin.command(
    '/v1/webhook-endpoints',
    { endpointId: 'down', url: receiver.url('/down'), secret: SECRET, eventTypes: ['alert.fired'], accounts: '*' },
    'endpoint-down',
  );
  expect(defined.status).toBe(200);
  await openAccount(store, 'horizon');
  await defineRule(store, 'horizon', 'low');
  const eventId = await fireAlert(store, 'horizon', 'low');

  const delivery = (): Promise<WebhookDelivery | undefined> =>
    admin
      .get('/v1/webhook-deliveries?endpointId=down')
      .then(({ body }) => (body.deliveries as WebhookDelivery[]).find((d) => d.eventId === eventId));
  const failed = await waitFor(delivery, (found) => found?.status === 'failed', 'the delivery to fail at its horizon');
  expect(failed!.nextAttemptAt).toBeNull();
  // Retried every 20–40 ms for a second: many attempts, but a machine stalled that long may manage one.
  expect(failed!.attempts.length).toBeGreaterThanOrEqual(1);
  expect(failed!.attempts.every((attempt) => attempt.statusCode === 500 && attempt.finishedAt !== null)).toBe(true);
  // Every attempt reached the receiver, signed.
  expect(receiver.received('/down')).toHaveLength(failed!.attempts.length);
  expect(receiver.received('/down').every((request) => request.verified)).toBe(true);

  receiverUp = true;
  const again = await admin.command(`/v1/webhook-deliveries/${failed!.deliveryId}/redeliver`, {}, null);
  expect([again.status, again.body.status]).toEqual([200, 'pending']);
  const delivered = await waitFor(delivery, (found) => found?.status === 'delivered', 'the redelivery');
  expect(delivered!.attempts.at(-1)).toMatchObject({ statusCode: 200 });
  expect(delivered!.attempts).toHaveLength(failed!.attempts.length + 1);
});
