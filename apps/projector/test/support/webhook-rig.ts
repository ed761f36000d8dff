/**
 * What the webhook tests run on, in-process: a ledger with an admin key, its projector, a real
 * receiver and a delivery worker with the test's settings. Closed in the order that lets every
 * attempt under way finish.
 */
import type { WebhookConfig } from '@ledger/platform';
import { startTestLedger, TEST_KEYS, type TestLedger } from '../../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../../test/support/projector';
import { DeliveryWorker } from '../../src/webhooks/delivery-worker';
import { startReceiver, type Receiver } from './webhook-receiver';

export const WEBHOOK_ADMIN = { key: 'admin-key-all', principal: 'ops', role: 'admin', accounts: '*' };

export interface WebhookRig {
  readonly ledger: TestLedger;
  readonly projector: RunningProjector;
  readonly receiver: Receiver;
  readonly worker: DeliveryWorker;
  close(): Promise<void>;
}

export async function startWebhookRig(config: WebhookConfig): Promise<WebhookRig> {
  const ledger = await startTestLedger({
    apiKeysJson: JSON.stringify([...TEST_KEYS, { ...WEBHOOK_ADMIN, rateLimit: { perSecond: 1e6, burst: 1e6 } }]),
    webhooks: config,
  });
  const projector = startProjector(ledger);
  const receiver = await startReceiver();
  const worker = new DeliveryWorker({ db: ledger.api.infrastructure.db, databaseUrl: ledger.database.url, config });
  const stop = new AbortController();
  const working = worker.run(stop.signal);
  return {
    ledger,
    projector,
    receiver,
    worker,
    async close() {
      stop.abort();
      await receiver.close();
      await working;
      await projector.stop();
      await ledger.close();
    },
  };
}
