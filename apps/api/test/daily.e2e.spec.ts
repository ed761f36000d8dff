/**
 * The daily figures over real HTTP, on the demo account (weeks of history, then the seed's runs
 * today): every day's figures equal the auditors' replay of the events up to that day's end, the
 * project filter gives that project's share, the subscription periods are there, and a bad range
 * is a typed 400.
 */
import { DEMO_ACCOUNT } from '@ledger/client';
import { parseCredits } from '@ledger/domain';
import { defined } from '../../../test/support/defined';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';

let ledger: TestLedger;
let projector: RunningProjector;
let seededAt: string;

beforeAll(async () => {
  ledger = await startTestLedger({ demo: true });
  projector = startProjector(ledger);
  await expect(ledger.api.demo).resolves.toBe('created');
  seededAt = (await ledger.client().get('/workspace/config.json')).body.demo.seededAt;
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const daily = (query = '') =>
  ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/daily?atLeastPosition=${seededAt}${query}`);
const replayedAt = async (day: string, project?: string) =>
  (
    await ledger
      .client('auditor-key-all')
      .get(
        `/v1/audit/accounts/${DEMO_ACCOUNT}/balance?asOf=${day}T23:59:59.999Z${project ? `&project=${project}` : ''}`,
      )
  ).body;
const credits = (text: string) => {
  const parsed = parseCredits(text, { positive: false });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
};

describe('GET /v1/accounts/:id/daily', () => {
  it('answers every day from the account’s first to today, each equal to a replay to that day’s end', async () => {
    const answer = await daily();
    expect(answer.status).toBe(200);
    const { days, from, to } = answer.body;
    const today = new Date().toISOString().slice(0, 10);
    expect(to).toBe(today);
    expect(days.length).toBeGreaterThanOrEqual(35);
    expect(days[0].day).toBe(from);
    expect(days.at(-1).day).toBe(to);
    for (const figure of days) {
      const replay = await replayedAt(figure.day);
      expect({ day: figure.day, ...figure.buckets }).toEqual({ day: figure.day, ...replay.buckets });
      expect(figure.available).toBe(replay.buckets.available);
    }
    // Today is the seed page's.
    expect(days.at(-1)).toMatchObject({ available: '432', buckets: { reserved: '24', hold: '8', included: '500' } });
    // Each day's consumption is the day's growth of consumed, and the projects' add up to it.
    let before = 0n;
    for (const figure of days) {
      const consumed = credits(figure.buckets.consumed);
      expect([figure.day, credits(figure.consumed)]).toEqual([figure.day, consumed - before]);
      const byProject = Object.values<string>(figure.consumedByProject).reduce((sum, c) => sum + credits(c), 0n);
      expect([figure.day, byProject]).toEqual([figure.day, credits(figure.consumed)]);
      before = consumed;
    }
    expect(answer.body.projects.map((p: { projectId: string }) => p.projectId)).toEqual([
      'proj-research',
      'proj-support',
      'proj-ops',
    ]);
    // Two periods: the pay-as-you-go one the history ran in, and the current month's.
    expect(answer.body.periods).toHaveLength(2);
    expect(defined(answer.body.periods[1]).start.slice(0, 10)).toBe(`${today.slice(0, 7)}-01`);
  });

  it('filtered by project, shows that project’s share beside the account’s available', async () => {
    const answer = await daily('&project=proj-support');
    expect(answer.status).toBe(200);
    expect(answer.body.project).toBe('proj-support');
    expect(answer.body.projects).toEqual([{ projectId: 'proj-support', name: 'Support triage' }]);
    const account = (await daily()).body;
    for (const [i, figure] of answer.body.days.entries()) {
      if (i % 5 !== 0 && i !== answer.body.days.length - 1) continue;
      const replay = await replayedAt(figure.day, 'proj-support');
      expect({ day: figure.day, ...figure.buckets }).toEqual({
        day: figure.day,
        ...(replay.project?.buckets ?? {}),
        available: null,
      });
      expect(figure.available).toBe(account.days[i].available);
      expect(Object.keys(figure.consumedByProject)).toEqual(['proj-support']);
    }
  });

  it('takes a range, carrying the figures of the last day with events into it', async () => {
    const all = (await daily()).body.days;
    const middle = defined(all[10]);
    const answer = await daily(`&from=${middle.day}&to=${all[14].day}`);
    expect(answer.body.days).toEqual(all.slice(10, 15));
  });

  it.each([
    ['&from=2026-02-30', 'validation_failed'],
    ['&from=2026-11-10&to=2026-11-01', 'validation_failed'],
    ['&from=2024-01-01&to=2026-01-01', 'validation_failed'],
    ['&to=yesterday', 'validation_failed'],
    ['&project=proj-none', 'project_not_attached'],
  ])('refuses %s with %s', async (query, code) => {
    const answer = await daily(query);
    expect(answer.status).toBe(code === 'project_not_attached' ? 403 : 400);
    expect(answer.body.code).toBe(code);
  });

  it('answers only for the accounts a key may read', async () => {
    expect((await ledger.client('dashboard-key-all').get('/v1/accounts/nobody/daily')).body.code).toBe(
      'account_not_found',
    );
    expect((await ledger.client('demo-reader-key').get('/v1/accounts/acme/daily')).body.code).toBe('identity_denied');
  });
});
