/**
 * The read side end to end: commands over HTTP, the real projector, then the query API — the seed
 * page's figures, project shares, the usage ledger row by row, and read-your-writes.
 */
import { randomUUID } from 'node:crypto';
import { formatCredits } from '@ledger/domain';
import { accountStreamId } from '@ledger/event-store';
import { projectionNames } from '@ledger/projections';
import type { LedgerResponse } from '@ledger/client';
import { runSeedScenario, SEED_PROJECTS } from '@ledger/client';
import { defined } from '../../../test/support/defined';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';
import { waitFor } from '../../../test/support/wait';

let ledger: TestLedger;
let projector: RunningProjector;
let seedPosition: string;

beforeAll(async () => {
  ledger = await startTestLedger();
  projector = startProjector(ledger);
  const receipt = await runSeedScenario(ledger.client(), 'acct-seed');
  seedPosition = receipt.body.position;
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const read = (path: string, key = 'dashboard-key-all') => ledger.client(key).get(path);
const fresh = (path: string) => read(`${path}${path.includes('?') ? '&' : '?'}atLeastPosition=${seedPosition}`);
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await ledger.api.infrastructure.pool.query(text, values)).rows as T[];

describe('the billing overview', () => {
  it('shows the seed page figures, computed from events', async () => {
    const overview = await fresh('/v1/accounts/acct-seed/overview');
    expect(overview.status).toBe(200);
    expect(overview.body.buckets).toEqual({
      included: '500',
      bonus: '0',
      available: '432',
      reserved: '24',
      consumed: '44',
      hold: '8',
      expired: '0',
    });
    expect(overview.body.settlement).toEqual({
      thresholdFen: '10000',
      thresholdCny: '100',
      heldValueFen: '800',
      heldValueCny: '8',
      reached: false,
    });
    expect(overview.body.subscription).toMatchObject({
      planName: 'Growth launch plan',
      capabilityBands: ['standard', 'advanced'],
    });
    expect(overview.body.relationship.acceptedExecution).toMatchObject({ acceptedRuns: 6, openRuns: 2 });
    expect(overview.body.projects.map((p: { projectId: string }) => p.projectId)).toEqual(
      SEED_PROJECTS.map((p) => p.projectId),
    );
    expect(overview.body.recentEvents.length).toBeGreaterThan(0);
    expect(overview.body.recentEvents[0]).toMatchObject({ type: 'RunAccepted' });
  });

  it('filtered by project, shows that project’s share, and the shares add up', async () => {
    const expected: Record<string, Partial<Record<string, string>>> = {
      'proj-research': { reserved: '12', consumed: '18', hold: '0' },
      'proj-support': { reserved: '0', consumed: '26', hold: '8' },
      'proj-ops': { reserved: '12', consumed: '0', hold: '0' },
    };
    const totals = { reserved: 0n, consumed: 0n, hold: 0n };
    for (const { projectId } of SEED_PROJECTS) {
      const overview = await fresh(`/v1/accounts/acct-seed/overview?project=${projectId}`);
      expect(overview.status).toBe(200);
      expect(overview.body.buckets).toMatchObject({ ...expected[projectId], available: null });
      expect(overview.body.accountAvailable).toBe('432');
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
        totals[key] += BigInt(overview.body.buckets[key]);
      }
    }
    expect(totals).toEqual({ reserved: 24n, consumed: 44n, hold: 8n });
  });

  it('refuses a project the account does not have', async () => {
    const response = await fresh('/v1/accounts/acct-seed/overview?project=proj-nope');
    expect([response.status, response.body.code]).toEqual([403, 'project_not_attached']);
  });

  it('lists per-project buckets that sum, with the account-wide part, to the account', async () => {
    const response = await fresh('/v1/accounts/acct-seed/projects');
    expect(response.status).toBe(200);
    const { account, unassigned, projects } = response.body;
    for (const bucket of ['included', 'bonus', 'reserved', 'consumed', 'hold', 'expired']) {
      const sum = projects.reduce(
        (t: bigint, p: { buckets: Record<string, string> }) => t + BigInt(defined(p.buckets[bucket], bucket)),
        0n,
      );
      expect(sum + BigInt(unassigned[bucket])).toBe(BigInt(account[bucket]));
    }
    expect(unassigned.included).toBe('500');
  });
});

describe('the usage ledger', () => {
  it('maps every row to exactly one event, and every money-moving event to its rows', async () => {
    // The events come through the port, so the test runs on either store.
    const events = await ledger.api.infrastructure.eventStore.readAll({ maxCount: 1_000_000 });
    const rows = await sql<{ event_id: string }>(`SELECT DISTINCT event_id::text AS event_id FROM usage_ledger`);
    const eventIds = new Set(events.map((event) => event.metadata.eventId));
    expect(eventIds.size).toBe(events.length);
    expect(rows.filter((row) => !eventIds.has(row.event_id))).toEqual([]);
    const explained = new Set(rows.map((row) => row.event_id));
    const moving = new Set([
      'CreditsGranted',
      'CreditsReserved',
      'ReservationReleased',
      'CreditsConsumed',
      'CreditsExpired',
      'SettlementHoldPlaced',
      'SettlementHoldReleased',
      'CommercialExceptionRecorded',
    ]);
    const unexplained = events
      .filter((event) => moving.has(event.type) && !explained.has(event.metadata.eventId))
      .map((event) => event.type);
    expect(unexplained).toEqual([]);
  });

  it('reproduces every bucket by summing its rows', async () => {
    const [sums] = await sql<Record<string, string>>(
      `SELECT
         sum(amount) FILTER (WHERE kind = 'grant' AND grant_source = 'plan_included') AS included,
         coalesce(sum(amount) FILTER (WHERE kind = 'grant' AND grant_source <> 'plan_included'), 0) AS bonus,
         coalesce(sum(amount) FILTER (WHERE kind = 'reservation'), 0)
           - coalesce(sum(amount) FILTER (WHERE kind IN ('release', 'consumption')), 0) AS reserved,
         coalesce(sum(amount) FILTER (WHERE kind IN ('consumption', 'overrun')), 0) AS consumed,
         coalesce(sum(amount) FILTER (WHERE kind = 'hold_placed'), 0)
           - coalesce(sum(amount) FILTER (WHERE kind = 'hold_released'), 0) AS hold,
         coalesce(sum(amount) FILTER (WHERE kind = 'expiry'), 0) AS expired
       FROM usage_ledger WHERE account_id = 'acct-seed'`,
    );
    const overview = await fresh('/v1/accounts/acct-seed/overview');
    const asCredits = Object.fromEntries(Object.entries(defined(sums)).map(([k, v]) => [k, formatCredits(BigInt(v))]));
    expect(asCredits).toEqual({
      included: overview.body.buckets.included,
      bonus: overview.body.buckets.bonus,
      reserved: overview.body.buckets.reserved,
      consumed: overview.body.buckets.consumed,
      hold: overview.body.buckets.hold,
      expired: overview.body.buckets.expired,
    });
  });

  it('pages through every row exactly once, newest first, with an opaque cursor', async () => {
    const { n } = defined(
      (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = 'acct-seed'`))[0],
    );
    const seen: string[] = [];
    const positions: string[] = [];
    let cursor: string | null = null;
    do {
      const page: LedgerResponse = await fresh(
        `/v1/accounts/acct-seed/usage?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.rows.length).toBeLessThanOrEqual(4);
      for (const row of page.body.rows) {
        seen.push(`${row.eventId}#${row.entryIndex}`);
        positions.push(`${row.position}#${row.entryIndex}`);
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(n);
    expect(new Set(seen).size).toBe(n);
    // "commit/prepare#entry": newest first means each is after the next, compared part by part
    const order = (p: string | undefined) => defined(p, 'a position').split(/[/#]/).map(BigInt);
    const after = (a: bigint[], b: bigint[]): boolean => {
      const i = a.findIndex((part, k) => part !== b[k]);
      return i >= 0 && a[i]! > b[i]!;
    };
    for (let i = 1; i < positions.length; i++) {
      expect(after(order(positions[i - 1]), order(positions[i]))).toBe(true);
    }
  });

  it('filters by project, kind and run', async () => {
    const byProject = await fresh('/v1/accounts/acct-seed/usage?project=proj-support&limit=100');
    expect(byProject.body.rows.length).toBeGreaterThan(0);
    expect(byProject.body.rows.every((r: { projectId: string }) => r.projectId === 'proj-support')).toBe(true);
    const holds = await fresh('/v1/accounts/acct-seed/usage?kind=hold_placed');
    expect(holds.body.rows.map((r: { amount: string; holdId: string }) => [r.amount, r.holdId])).toEqual([
      ['8', 'hold-001'],
    ]);
    const run = await fresh('/v1/accounts/acct-seed/usage?run=run-001');
    expect(run.body.rows.map((r: { kind: string }) => r.kind).sort()).toEqual([
      'consumption',
      'release',
      'reservation',
    ]);
  });

  it('refuses bad filters with a typed 400', async () => {
    for (const query of [
      'kind=bribe',
      'limit=0',
      'limit=many',
      'cursor=%25%25',
      'from=yesterday',
      'atLeastPosition=12',
    ]) {
      const response = await read(`/v1/accounts/acct-seed/usage?${query}`);
      expect([query, response.status, response.body.code]).toEqual([query, 400, 'validation_failed']);
    }
  });

  it('shows a run with its ledger rows and holds', async () => {
    const run = await fresh('/v1/accounts/acct-seed/runs/run-002');
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      status: 'completed',
      estimatedCost: '30',
      actualCost: '26',
      consumed: '26',
      reserved: '0',
      holds: [{ holdId: 'hold-001', amount: '8', status: 'held' }],
    });
    expect(run.body.ledger.map((r: { kind: string }) => r.kind)).toEqual([
      'reservation',
      'consumption',
      'release',
      'hold_placed',
    ]);
    const missing = await fresh('/v1/accounts/acct-seed/runs/run-999');
    expect([missing.status, missing.body.code]).toEqual([404, 'run_not_found']);
  });
});

describe('who may read', () => {
  it('lets a key read only its accounts, and requires a key', async () => {
    expect((await read('/v1/accounts/acct-seed/overview', 'service-key-acme')).status).toBe(403);
    expect((await read('/v1/accounts/acct-seed/overview', 'auditor-key-all')).status).toBe(200);
    expect((await read('/v1/accounts/acct-seed/overview', '')).status).toBe(401);
  });
});

describe('read-your-writes and lag', () => {
  it('waits for the projector, and says so clearly when it is stopped', async () => {
    const client = ledger.client();
    const grant = await client.command(
      '/v1/accounts/acct-seed/grants',
      { grantId: 'ryw-1', source: 'top_up', amount: '10' },
      'ryw-1',
    );
    const after = await read(`/v1/accounts/acct-seed/overview?atLeastPosition=${grant.body.position}`);
    expect(after.body.buckets.available).toBe('442');

    await projector.stop();
    const next = await client.command(
      '/v1/accounts/acct-seed/grants',
      { grantId: 'ryw-2', source: 'top_up', amount: '5' },
      'ryw-2',
    );
    // On Postgres, a transaction open elsewhere in the cluster (another test file) can keep a
    // committed event out of the global log for a moment: wait until the lag shows.
    const status = await waitFor(
      () => read('/v1/projections'),
      (answer) => answer.status !== 200 || answer.body.projections.every((p: { lagEvents: number }) => p.lagEvents),
      'the lag to show',
      { intervalMs: 100 },
    );
    expect(status.status).toBe(200);
    for (const projection of status.body.projections) {
      expect(projection.lagEvents).toBeGreaterThan(0);
      expect(projection.failure).toBeNull();
    }
    const stale = await read(`/v1/accounts/acct-seed/overview?atLeastPosition=${next.body.position}`);
    expect([stale.status, stale.body.code]).toEqual([503, 'read_model_behind']);
    expect(stale.body.message).toMatch(/projector/);

    projector = startProjector(ledger);
    const caughtUp = await read(`/v1/accounts/acct-seed/overview?atLeastPosition=${next.body.position}`);
    expect(caughtUp.body.buckets.available).toBe('447');
    const lag = await read('/v1/projections');
    expect(lag.body.projections.map((p: { lagEvents: number }) => p.lagEvents)).toEqual(projectionNames.map(() => 0));
    const metrics = await ledger.client('').request<string>('GET', '/metrics', {});
    expect(metrics.body).toContain('ledger_projection_lag_events{projection="usage"} 0');
    expect(metrics.body).toContain('ledger_projection_failed{projection="balances"} 0');
  });
});

describe('a projection that cannot apply an event', () => {
  it('stops at that event, with its position and reason visible', async () => {
    const other = await startTestLedger();
    const running = startProjector(other);
    try {
      const good = await runSeedScenario(other.client(), 'acct-poisoned');
      await other
        .client('dashboard-key-all')
        .get(`/v1/accounts/acct-poisoned/overview?atLeastPosition=${good.body.position}`);
      // A stored event whose data no longer decodes: what a bad deploy or a hand edit leaves behind.
      await other.api.infrastructure.eventStore.append(
        accountStreamId('acct-poisoned'),
        [
          {
            type: 'CreditsGranted',
            data: { accountId: 'acct-poisoned', grantId: 'bad', amount: 'a lot' },
            metadata: {
              eventId: randomUUID(),
              schemaVersion: 1,
              commandId: 'manual',
              commandType: 'GrantCredits',
              idempotencyKey: 'manual',
              requestHash: 'manual',
              correlationId: 'manual',
              causationId: 'manual',
              principal: 'operator',
              occurredAt: new Date().toISOString(),
            },
          },
        ],
        'any',
      );
      const status = await waitFor(
        () => other.client('dashboard-key-all').get('/v1/projections'),
        (answer) => answer.body.projections.every((p: { failure: unknown }) => p.failure),
        'every projection to stop at the event',
      );
      const head = status.body.head;
      for (const projection of status.body.projections) {
        expect(projection.failure).toMatchObject({ position: head });
        expect(projection.failure.reason).toMatch(/CreditsGranted/);
        expect(projection.position).not.toBe(head);
        expect(projection.lagEvents).toBe(1);
      }
      const metrics = await other.client('').request<string>('GET', '/metrics', {});
      expect(metrics.body).toContain('ledger_projection_failed{projection="balances"} 1');
    } finally {
      await running.stop();
      await other.close();
    }
  });
});
