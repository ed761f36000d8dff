/**
 * The demo workspace a newcomer sees at /workspace/billing?state=demo: the seed page's account and an
 * account with nothing in it yet, both made through the real command path (HTTP, decide, append) when
 * the API starts, and a public key that can read only those two. LEDGER_DEMO=off turns all of it off.
 */
import { randomBytes } from 'node:crypto';
import { DEMO_ACCOUNT, DEMO_READER_KEY, EMPTY_DEMO_ACCOUNT, LedgerClient, seedUnlessPresent } from '@ledger/client';
import type { EventStore } from '@ledger/event-store';
import type { KeyEntry } from '../identity/api-keys';
import { appendDemoHistory } from './demo-history';

export { DEMO_ACCOUNT, DEMO_READER_KEY, EMPTY_DEMO_ACCOUNT };

export interface DemoWorkspace {
  readonly keys: KeyEntry[];
  /**
   * The position of the seed's last command, once this process made the demo: the pages read the
   * demo at least as of it, so a newcomer never sees it half projected.
   */
  readonly seededAt: string | null;
  /**
   * Makes the demo accounts unless their streams already exist; safe to run on every start. The
   * demo account's weeks of history go straight to `store` (demo-history.ts), the seed over HTTP.
   */
  ensure(apiUrl: string, store: EventStore): Promise<'created' | 'present'>;
}

export function demoWorkspace(): DemoWorkspace {
  const accounts = [DEMO_ACCOUNT, EMPTY_DEMO_ACCOUNT];
  // The seeder's key lives only in this process: nobody else can act as it.
  const seederKey = randomBytes(24).toString('base64url');
  let seededAt: string | null = null;
  return {
    get seededAt() {
      return seededAt;
    },
    keys: [
      // Public, so limited: enough for a few people clicking through the pages, not for a flood.
      {
        key: DEMO_READER_KEY,
        principal: 'demo-visitor',
        role: 'dashboard',
        accounts,
        rateLimit: { perSecond: 20, burst: 100 },
      },
      { key: seederKey, principal: 'demo-seeder', role: 'admin', accounts },
    ],
    async ensure(apiUrl, store) {
      const client = new LedgerClient(apiUrl, seederKey);
      const seeded = await seedUnlessPresent(client, DEMO_ACCOUNT, new Date(), undefined, (periodStart) =>
        appendDemoHistory(store, DEMO_ACCOUNT, periodStart),
      );
      if (seeded === 'present') return 'present';
      const empty = await client.command(
        '/v1/accounts',
        { accountId: EMPTY_DEMO_ACCOUNT, name: 'New workspace (no grants or runs yet)' },
        `seed:${EMPTY_DEMO_ACCOUNT}:0`,
      );
      if (empty.status !== 200) throw new Error(`could not open the empty demo account: ${JSON.stringify(empty.body)}`);
      seededAt = empty.body.position as string;
      return 'created';
    },
  };
}
