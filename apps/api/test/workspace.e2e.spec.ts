/**
 * What the workspace pages stand on, over real HTTP: the demo workspace made through the command
 * path, the reads the pages use (who am I, my accounts, one event, the usage CSV), and the pages'
 * own delivery.
 */
import { parseCsvLine } from '@ledger/platform';
import { DEMO_ACCOUNT, DEMO_READER_KEY, EMPTY_DEMO_ACCOUNT } from '../src/workspace/demo-workspace';
import { USAGE_CSV_COLUMNS } from '../src/usage/usage-export.query';
import { runSeedScenario } from '@ledger/client';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';

let ledger: TestLedger;
let projector: RunningProjector;
let seeded: string;

beforeAll(async () => {
  ledger = await startTestLedger({ demo: true });
  projector = startProjector(ledger);
  await expect(ledger.api.demo).resolves.toBe('created');
  seeded = (await runSeedScenario(ledger.client(), 'acme')).body.position;
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const fresh = (path: string) => `${path}${path.includes('?') ? '&' : '?'}atLeastPosition=${seeded}`;

describe('the demo workspace', () => {
  it('is made once: another API starting on the same ledger finds it and appends nothing', async () => {
    const before = await ledger.api.infrastructure.eventStore.headPosition();
    const again = await ledger.startAnotherApi();
    try {
      await expect(again.demo).resolves.toBe('present');
    } finally {
      await again.close();
    }
    expect(await ledger.api.infrastructure.eventStore.headPosition()).toEqual(before);
  });

  it('has a public key that reads the demo accounts and nothing else', async () => {
    const demo = ledger.client(DEMO_READER_KEY);
    const settings = await demo.get('/workspace/config.json');
    const overview = await demo.get(
      `/v1/accounts/${DEMO_ACCOUNT}/overview?atLeastPosition=${settings.body.demo.seededAt}`,
    );
    expect(overview.status).toBe(200);
    expect(overview.body.buckets).toMatchObject({ included: '500', available: '432', reserved: '24', hold: '8' });
    expect((await demo.get(`/v1/accounts/${EMPTY_DEMO_ACCOUNT}/overview`)).status).toBe(200);
    const other = await demo.get(fresh('/v1/accounts/acme/overview'));
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('identity_denied');
    const command = await demo.command(
      `/v1/accounts/${DEMO_ACCOUNT}/grants`,
      { grantId: 'g', source: 'manual', amount: '1' },
      'k',
    );
    expect(command.status).toBe(403);
    expect(command.body.code).toBe('role_forbidden');
  });

  it('is off when configured off: no demo key, no demo accounts', async () => {
    const off = await startTestLedger({ demo: false });
    try {
      await expect(off.api.demo).resolves.toBe('off');
      expect((await off.client().get('/workspace/config.json')).body).toEqual({ demo: null });
      expect((await off.client(DEMO_READER_KEY).get(`/v1/accounts/${DEMO_ACCOUNT}/events/0`)).status).toBe(401);
    } finally {
      await off.close();
    }
  });
});

describe('who a key is, and what it may read', () => {
  it('names the principal and role behind the key', async () => {
    const me = await ledger.client('dashboard-key-all').get('/v1/me');
    expect(me.body).toEqual({ principal: 'dash', role: 'dashboard', accounts: '*' });
  });

  it('lists only the accounts a key may read, paged by id', async () => {
    const all = await ledger.client('dashboard-key-all').get(fresh('/v1/accounts?limit=2'));
    expect(all.body.accounts.map((a: { accountId: string }) => a.accountId)).toEqual(['acct-demo', 'acct-demo-empty']);
    const next = await ledger.client('dashboard-key-all').get(`/v1/accounts?after=${all.body.nextAfter}`);
    expect(next.body.accounts.map((a: { accountId: string }) => a.accountId)).toEqual(['acme']);
    expect(next.body.nextAfter).toBeNull();
    const scoped = await ledger.client('service-key-acme').get('/v1/accounts');
    expect(scoped.body.accounts).toEqual([
      expect.objectContaining({ accountId: 'acme', name: 'Demo workspace', planName: 'Growth launch plan' }),
    ]);
  });

  it('refuses a bad page size with a typed 400', async () => {
    const response = await ledger.client('dashboard-key-all').get('/v1/accounts?limit=0');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
  });
});

describe('one event by revision', () => {
  it('is the stored event a usage row points at', async () => {
    const usage = await ledger
      .client('dashboard-key-all')
      .get(fresh('/v1/accounts/acme/usage?kind=consumption&limit=1'));
    const [row] = usage.body.rows;
    const event = await ledger.client('dashboard-key-all').get(`/v1/accounts/acme/events/${row.streamRevision}`);
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({
      eventId: row.eventId,
      type: row.eventType,
      revision: row.streamRevision,
      position: row.position,
      metadata: expect.objectContaining({ commandId: row.commandId, correlationId: row.correlationId }),
    });
  });

  it('answers 404 past the stream’s end, 400 for a revision that is not a number, 403 outside the key’s accounts', async () => {
    const client = ledger.client('dashboard-key-all');
    const past = await client.get('/v1/accounts/acme/events/999999');
    expect([past.status, past.body.code]).toEqual([404, 'event_not_found']);
    const bad = await client.get('/v1/accounts/acme/events/-1');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    const denied = await ledger.client('service-key-acme').get(`/v1/accounts/${DEMO_ACCOUNT}/events/0`);
    expect([denied.status, denied.body.code]).toEqual([403, 'identity_denied']);
  });
});

describe('the usage ledger', () => {
  it('opens the rows one command moved', async () => {
    const overview = await ledger.client('dashboard-key-all').get(fresh('/v1/accounts/acme/overview'));
    const accepted = overview.body.recentEvents.find((e: { type: string }) => e.type === 'RunAccepted');
    const rows = await ledger.client('dashboard-key-all').get(`/v1/accounts/acme/usage?command=${accepted.commandId}`);
    expect(rows.body.rows).toEqual([
      expect.objectContaining({ kind: 'reservation', amount: accepted.amount, commandId: accepted.commandId }),
    ]);
  });

  it('exports what the filters select as CSV, every row, money as decimal strings', async () => {
    const client = ledger.client('dashboard-key-all');
    const response = await client.get(fresh('/v1/accounts/acme/usage.csv?project=proj-research'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="usage-acme.csv"');
    const [header = [], ...lines] = String(response.body).trimEnd().split('\r\n').map(parseCsvLine);
    expect(header).toEqual([...USAGE_CSV_COLUMNS]);
    const page = await client.get('/v1/accounts/acme/usage?project=proj-research&limit=500');
    expect(lines.map((line) => line[header.indexOf('eventId')])).toEqual(
      page.body.rows.map((row: { eventId: string }) => row.eventId),
    );
    expect(lines.map((line) => line[header.indexOf('amount')])).toEqual(
      page.body.rows.map((row: { amount: string }) => row.amount),
    );
  });

  it('refuses an export it may not give as a JSON error, before any CSV', async () => {
    const response = await ledger.client('service-key-acme').get(`/v1/accounts/${DEMO_ACCOUNT}/usage.csv`);
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('identity_denied');
  });
});

describe('the pages’ delivery', () => {
  it('serves each page as a document that loads the bundle, under a strict content security policy', async () => {
    for (const page of ['billing', 'usage']) {
      const response = await fetch(`${ledger.api.url}/workspace/${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await response.text();
      expect(html).toContain(`data-page="${page}"`);
      expect(html).toContain('/workspace/assets/workspace.js');
    }
    const script = await fetch(`${ledger.api.url}/workspace/assets/workspace.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    // The licence notices the bundle points to are served beside it (uPlot's MIT notice).
    expect(await script.text()).toContain('see workspace.js.LEGAL.txt');
    const legal = await fetch(`${ledger.api.url}/workspace/assets/workspace.js.LEGAL.txt`);
    expect([legal.status, await legal.text()]).toEqual([200, expect.stringContaining('uPlot')]);
  });

  it('lets a browser revalidate the bundle for free: 304 while it is unchanged', async () => {
    const first = await fetch(`${ledger.api.url}/workspace/assets/workspace.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"/);
    expect(Number(first.headers.get('content-length'))).toBe((await first.arrayBuffer()).byteLength);
    const again = await fetch(`${ledger.api.url}/workspace/assets/workspace.js`, {
      headers: { 'if-none-match': etag! },
    });
    expect(again.status).toBe(304);
    const changed = await fetch(`${ledger.api.url}/workspace/assets/workspace.js`, {
      headers: { 'if-none-match': 'W/"0-0"' },
    });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
  });

  it('serves nothing but the bundle from the assets folder', async () => {
    const response = await fetch(`${ledger.api.url}/workspace/assets/..%2F..%2Fpackage.json`);
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe('route_not_found');
  });

  it('sends a newcomer from / to the billing overview', async () => {
    const response = await fetch(`${ledger.api.url}/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/workspace/billing');
  });
});
