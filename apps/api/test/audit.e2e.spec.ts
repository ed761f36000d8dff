/**
 * The auditor's HTTP endpoints: balances as of any point replayed from events (not read models),
 * the raw events with their metadata, paged — for auditor and admin keys only — and a run stored in
 * the old RunAccepted shape, read everywhere as the current one.
 */
import { randomUUID } from 'node:crypto';
import { decide, evolve, initialState, type LedgerCommand, type LedgerEvent } from '@ledger/domain';
import { accountStreamId, toEventToAppend } from '@ledger/event-store';
import { runSeedScenario } from '@ledger/client';
import { startTestLedger, TEST_KEYS, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';

let ledger: TestLedger;
let projector: RunningProjector;

beforeAll(async () => {
  ledger = await startTestLedger();
  projector = startProjector(ledger);
  await runSeedScenario(ledger.client(), 'acct-http');
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const audit = (path: string, key = 'auditor-key-all') => ledger.client(key).get(`/v1/audit/accounts${path}`);

describe('GET /v1/audit/accounts/:id/balance', () => {
  it('replays the buckets now, and as of a position', async () => {
    const now = await audit('/acct-http/balance');
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({
      accountId: 'acct-http',
      source: 'events',
      buckets: { included: '500', available: '432', reserved: '24', consumed: '44', hold: '8', expired: '0' },
    });
    const events = await audit('/acct-http/events?limit=1000');
    const firstRunCompleted = events.body.events.find((e: { type: string }) => e.type === 'CreditsConsumed');
    const then = await audit(`/acct-http/balance?asOf=${firstRunCompleted.position}&project=proj-research`);
    expect(then.status).toBe(200);
    expect(then.body.buckets).toMatchObject({ available: '480', reserved: '2', consumed: '18' });
    expect(then.body.project).toEqual({
      projectId: 'proj-research',
      buckets: { included: '0', bonus: '0', reserved: '2', consumed: '18', hold: '0', expired: '0' },
    });
    const before = await audit(`/acct-http/balance?asOf=2000-01-01T00:00:00Z`);
    expect(before.body).toMatchObject({ eventsReplayed: 0, lastEvent: null, buckets: { available: '0' } });
  });

  it('refuses a bad asOf, an unknown account, and keys that are not the auditor’s', async () => {
    expect((await audit('/acct-http/balance?asOf=soon')).body.code).toBe('validation_failed');
    const unknown = await audit('/acct-nobody/balance');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'account_not_found']);
    for (const key of ['dashboard-key-all', 'service-key-all']) {
      const refused = await audit('/acct-http/balance', key);
      expect([refused.status, refused.body.code]).toEqual([403, 'role_forbidden']);
    }
    expect((await audit('/acct-http/balance', 'nobody')).status).toBe(401);
  });
});

describe('GET /v1/audit/accounts/:id/events', () => {
  it('pages through the raw events with their metadata', async () => {
    const seen: Array<Record<string, any>> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await audit(`/acct-http/events?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.events.length).toBeLessThanOrEqual(5);
      seen.push(...page.body.events);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(2);
    expect(seen.map((e) => e.revision)).toEqual(seen.map((_, i) => String(i)));
    expect(seen[0]).toMatchObject({
      type: 'BillingAccountOpened',
      streamId: 'billing-account-acct-http',
      schemaVersion: 1,
      data: { accountId: 'acct-http', name: 'Demo workspace' },
      metadata: {
        eventId: seen[0]?.eventId,
        commandType: 'OpenBillingAccount',
        principal: 'svc-runner',
        idempotencyKey: 'seed:acct-http:0',
      },
    });
    for (const field of ['commandId', 'correlationId', 'causationId', 'occurredAt']) {
      expect(seen[0]?.metadata[field]).toEqual(expect.any(String));
    }
    const accepted = seen.find((e) => e.type === 'RunAccepted')!;
    expect([accepted.schemaVersion, accepted.currentSchemaVersion, accepted.upcastData]).toEqual([2, 2, undefined]);
    const later = await audit(
      `/acct-http/events?from=${encodeURIComponent(seen[seen.length - 1]?.metadata.occurredAt)}`,
    );
    expect(later.body.events.length).toBeGreaterThanOrEqual(1);
    expect(later.body.events.length).toBeLessThan(seen.length);
  });

  it('lets an admin key audit too, and keeps an auditor to its accounts', async () => {
    const keys = JSON.stringify([
      ...TEST_KEYS,
      { key: 'admin-key-all', principal: 'admin', role: 'admin', accounts: '*' },
      { key: 'auditor-key-acme', principal: 'acme-auditor', role: 'auditor', accounts: ['acme'] },
    ]);
    const other = await startTestLedger({ apiKeysJson: keys });
    try {
      await runSeedScenario(other.client(), 'acct-other');
      expect((await other.client('admin-key-all').get('/v1/audit/accounts/acct-other/balance')).status).toBe(200);
      const denied = await other.client('auditor-key-acme').get('/v1/audit/accounts/acct-other/events');
      expect([denied.status, denied.body.code]).toEqual([403, 'identity_denied']);
    } finally {
      await other.close();
    }
  });
});

describe('a RunAccepted stored in its version-1 shape (before capability bands)', () => {
  it('is read in the standard band by the command side, the projections and the auditor', async () => {
    const client = ledger.client();
    // The account's history as an older ledger left it, appended straight to the store (so that no
    // API process has it cached): opened, subscribed, a project attached, then a v1 RunAccepted.
    const now = new Date().toISOString();
    const state = initialState();
    const history: LedgerEvent[] = [];
    const commands: LedgerCommand[] = [
      { type: 'OpenBillingAccount', accountId: 'acct-legacy', name: 'Legacy' },
      {
        type: 'StartSubscription',
        accountId: 'acct-legacy',
        plan: {
          planId: 'p',
          name: 'Plan',
          includedCredits: 100_000n,
          capabilityBands: ['standard'],
          rateCard: [{ action: 'workflow.run', capabilityBand: 'standard', minimumCost: 10_000n }],
          creditPriceFen: 100n,
          settlementThresholdFen: 10_000n,
        },
        period: { start: '2020-01-01T00:00:00.000Z', end: '2100-01-01T00:00:00.000Z' },
      },
      { type: 'AttachProject', accountId: 'acct-legacy', projectId: 'proj-old' },
    ];
    for (const command of commands) {
      const decision = decide(command, state, { principal: { id: 'legacy', role: 'admin', accounts: '*' }, now });
      if (!decision.ok) throw new Error(decision.rejection.message);
      for (const event of decision.events) {
        evolve(state, event);
        history.push(event);
      }
    }
    const facts = {
      commandId: randomUUID(),
      commandType: 'AcceptRun',
      idempotencyKey: 'legacy-run',
      requestHash: 'legacy',
      correlationId: randomUUID(),
      causationId: randomUUID(),
      principal: 'legacy-runner',
      occurredAt: now,
    };
    const eventId = randomUUID();
    await ledger.api.infrastructure.eventStore.append(
      accountStreamId('acct-legacy'),
      [
        ...history.map((event) => toEventToAppend(event, randomUUID(), facts)),
        {
          type: 'RunAccepted',
          // Version 1 had no capabilityBand.
          data: {
            accountId: 'acct-legacy',
            runId: 'run-old',
            projectId: 'proj-old',
            action: 'workflow.run',
            estimatedCost: '1',
          },
          metadata: { ...facts, eventId, schemaVersion: 1 },
        },
      ],
      'no_stream',
    );
    // The command side folds it: the old run can be cancelled.
    const cancel = await client.command('/v1/accounts/acct-legacy/runs/run-old/cancel', {}, 'legacy-cancel');
    expect(cancel.status).toBe(200);
    // The projections read it in the standard band.
    const run = await ledger
      .client('dashboard-key-all')
      .get(`/v1/accounts/acct-legacy/runs/run-old?atLeastPosition=${cancel.body.position}`);
    expect([run.status, run.body.capabilityBand, run.body.status]).toEqual([200, 'standard', 'cancelled']);
    // The auditor sees what is stored, and what it is read as; the stored event is never rewritten.
    const events = await audit('/acct-legacy/events');
    const legacy = events.body.events.find((e: { eventId: string }) => e.eventId === eventId);
    expect(legacy).toMatchObject({
      schemaVersion: 1,
      currentSchemaVersion: 2,
      upcastData: { capabilityBand: 'standard' },
    });
    expect(legacy.data.capabilityBand).toBeUndefined();
    const { rows } = await ledger.api.infrastructure.pool.query(`SELECT data FROM events WHERE event_id = $1`, [
      eventId,
    ]);
    expect(rows[0].data.capabilityBand).toBeUndefined();
  });
});
