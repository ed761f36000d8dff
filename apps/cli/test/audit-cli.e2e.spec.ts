/**
 * The auditor's command line end to end: the seed scenario through the real API and projector,
 * then `ledger audit …` against the same database — as-of balances, history, verify (clean, then
 * after tampering with the read models), and hash-chained exports (clean, then edited).
 */
import { defined } from '../../../test/support/defined';
import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditBalance } from '@ledger/contract';
import { accountStreamId } from '@ledger/event-store';
import { monthAround, seedSteps } from '@ledger/client';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';
import { ledgerCli } from './cli-harness';

const ACCOUNT = 'acct-audit';

let ledger: TestLedger;
let projector: RunningProjector;
let env: NodeJS.ProcessEnv;
let dir: string;
/** After each seed step: the receipt's buckets and position, and when its last event was decided. */
const steps: Array<{
  name: string;
  buckets: Record<string, string>;
  position: string;
  revision: number;
  firstAt: string;
  lastAt: string;
}> = [];

beforeAll(async () => {
  ledger = await startTestLedger();
  projector = startProjector(ledger);
  env = { DATABASE_URL: ledger.database.url };
  dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-audit-'));
  const client = ledger.client();
  for (const [index, step] of seedSteps(ACCOUNT, monthAround(new Date())).entries()) {
    const receipt = await client.command(step.path, step.body, `audit:${index}`);
    if (receipt.status !== 200) throw new Error(`${step.name}: ${receipt.status} ${JSON.stringify(receipt.body)}`);
    const { buckets, position, revision } = receipt.body;
    steps.push({ name: step.name, buckets, position, revision: Number(revision), firstAt: '', lastAt: '' });
    await sleep(3); // distinct instants between steps
  }
  // When each step's events were decided, from the store itself.
  const times: string[] = [];
  for await (const recorded of ledger.api.infrastructure.eventStore.readStream(accountStreamId(ACCOUNT))) {
    times.push(recorded.metadata.occurredAt);
  }
  let firstRevision = 0;
  for (const step of steps) {
    step.firstAt = defined(times[firstRevision], `the event at revision ${firstRevision}`);
    step.lastAt = defined(times[step.revision], `the event at revision ${step.revision}`);
    firstRevision = step.revision + 1;
  }
  // The read models caught up with the whole seed.
  const last = steps[steps.length - 1]?.position;
  const fresh = await ledger
    .client('dashboard-key-all')
    .get(`/v1/accounts/${ACCOUNT}/overview?atLeastPosition=${last}`);
  expect(fresh.status).toBe(200);
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const cli = (...argv: string[]) => ledgerCli(argv, env);
const balanceJson = async (...argv: string[]) => {
  const run = await cli('audit', 'balance', '--account', ACCOUNT, '--json', ...argv);
  expect([run.code, run.stderr]).toEqual([0, '']);
  return JSON.parse(run.stdout);
};

describe('ledger audit balance', () => {
  it('replays the buckets at every step of the seed, by position', async () => {
    for (const step of steps) {
      const balance = await balanceJson('--as-of', step.position);
      expect([step.name, balance.buckets]).toEqual([step.name, step.buckets]);
    }
    expect(steps[steps.length - 1]?.buckets).toMatchObject({
      included: '500',
      available: '432',
      reserved: '24',
      hold: '8',
    });
  });

  it('replays the buckets at instants of the seed, by time', async () => {
    for (const step of steps) {
      const balance = await balanceJson('--as-of', step.lastAt);
      expect([step.name, balance.buckets]).toEqual([step.name, step.buckets]);
    }
    // Just before the first run completed, run-001's 20 were still reserved.
    const completeRun1 = steps.findIndex((s) => s.name === 'complete run-001');
    const firstAt = defined(steps[completeRun1], 'the step completing run-001').firstAt;
    const before = await balanceJson('--as-of', new Date(Date.parse(firstAt) - 1).toISOString());
    expect(before.buckets).toMatchObject({ available: '480', reserved: '20', consumed: '0' });
  });

  it('gives a project’s share at an instant', async () => {
    const afterRun2 = steps.find((s) => s.name === 'complete run-002')!;
    const support = await balanceJson('--as-of', afterRun2.position, '--project', 'proj-support');
    expect(support.project.buckets).toMatchObject({ consumed: '26', reserved: '0', hold: '0' });
    const now = await balanceJson('--project', 'proj-support');
    expect(now.project.buckets).toMatchObject({ consumed: '26', hold: '8' });
    const text = await cli('audit', 'balance', '--account', ACCOUNT, '--as-of', afterRun2.position);
    expect(text.stdout).toMatch(/available\s+456/);
  });

  it('says what is wrong with an unknown account, a bad time, a missing flag or no database', async () => {
    const unknown = await cli('audit', 'balance', '--account', 'acct-nobody');
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/no billing account "acct-nobody"/)]);
    const badTime = await cli('audit', 'balance', '--account', ACCOUNT, '--as-of', 'last tuesday');
    expect([badTime.code, badTime.stderr]).toEqual([2, expect.stringMatching(/neither a time .* nor a position/)]);
    const noAccount = await cli('audit', 'balance');
    expect([noAccount.code, noAccount.stderr]).toEqual([2, expect.stringMatching(/needs --account/)]);
    const unknownFlag = await cli('audit', 'balance', '--acount', ACCOUNT);
    expect([unknownFlag.code, unknownFlag.stderr]).toEqual([2, expect.stringMatching(/--acount/)]);
    const noDatabase = await ledgerCli(['audit', 'balance', '--account', ACCOUNT], {
      DATABASE_URL: 'postgres://auditor:secret@127.0.0.1:1/ledger',
    });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toMatch(
      /cannot reach the database at postgres:\/\/auditor:\*\*\*@127\.0\.0\.1:1\/ledger/,
    );
    expect(noDatabase.stderr).not.toMatch(/secret/);
  });
});

describe('ledger audit balance --json and the API’s audit balance', () => {
  it('give the same JSON for the same question', async () => {
    const afterRun2 = steps.find((s) => s.name === 'complete run-002')!;
    const questions: Array<{ asOf?: string; project?: string }> = [
      { asOf: afterRun2.position },
      { asOf: afterRun2.position, project: 'proj-support' },
      { asOf: steps[0]!.lastAt },
      { asOf: '2000-01-01T00:00:00.000Z' },
    ];
    for (const { asOf, project } of questions) {
      const argv = [...(asOf ? ['--as-of', asOf] : []), ...(project ? ['--project', project] : [])];
      const query = new URLSearchParams({ ...(asOf && { asOf }), ...(project && { project }) });
      const api = await ledger.client('auditor-key-all').get(`/v1/audit/accounts/${ACCOUNT}/balance?${query}`);
      expect(api.status).toBe(200);
      // Both are the contract's auditBalance (the client checks the API's; here the CLI's).
      const cliAnswer = auditBalance.parse(await balanceJson(...argv));
      expect(cliAnswer).toEqual(api.body);
    }
  });
});

describe('ledger --help', () => {
  it.each([['balance'], ['history'], ['verify'], ['export'], ['check-export']])(
    'explains audit %s',
    async (command) => {
      const run = await cli('audit', command, '--help');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`ledger audit ${command}`);
    },
  );

  it('lists the commands, and refuses an unknown one', async () => {
    expect((await cli('--help')).stdout).toMatch(/audit verify/);
    const unknown = await cli('audit', 'teleport');
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/unknown command "audit teleport"/)]);
  });
});

describe('ledger audit history', () => {
  it('shows each event with what moved, the balances after, and who caused it', async () => {
    const run = await cli('audit', 'history', '--account', ACCOUNT);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(/CreditsConsumed[\s\S]*moved\s+reserved −18 · consumed \+18/);
    expect(run.stdout).toMatch(/after\s+included 500 · bonus 0 · available 432 · reserved 24 · consumed 44 · hold 8/);
    expect(run.stdout).toMatch(
      /by\s+svc-runner · AcceptRun [0-9a-f-]{36} · key audit:\d+ · correlation \S+ · causation \S+/,
    );
    expect(run.stdout).toMatch(/of \d+ event\(s\) shown/);
  });

  it('narrows to a project', async () => {
    const run = await cli('audit', 'history', '--account', ACCOUNT, '--project', 'proj-ops');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('run run-004');
    expect(run.stdout).not.toContain('run run-001');
  });
});

describe('ledger audit verify', () => {
  it('passes on a clean database, for the account and for all', async () => {
    const one = await cli('audit', 'verify', '--account', ACCOUNT);
    expect([one.code, one.stdout]).toEqual([
      0,
      expect.stringMatching(/✓ account acct-audit: the read models equal the replay/),
    ]);
    const all = await cli('audit', 'verify', '--all');
    expect([all.code, all.stdout]).toEqual([0, expect.stringMatching(/✓ 1 account\(s\)/)]);
  });

  it('fails, naming both, after a usage_ledger amount is edited and a runs row deleted', async () => {
    const pool = ledger.api.infrastructure.pool;
    const { rows } = await pool.query<{ event_id: string; entry_index: number }>(
      `UPDATE usage_ledger SET amount = amount + 10000
        WHERE (event_id, entry_index) = (SELECT event_id, entry_index FROM usage_ledger
                                          WHERE account_id = $1 AND kind = 'consumption' AND run_id = 'run-001')
        RETURNING event_id, entry_index`,
      [ACCOUNT],
    );
    expect(rows).toHaveLength(1);
    await pool.query(`DELETE FROM runs WHERE account_id = $1 AND run_id = 'run-003'`, [ACCOUNT]);
    try {
      for (const scope of [['--account', ACCOUNT], ['--all']]) {
        const run = await cli('audit', 'verify', ...scope);
        expect(run.code).toBe(1);
        expect(run.stdout).toContain(
          `✗ usage_ledger (event_id=${rows[0]?.event_id}, entry_index=${rows[0]?.entry_index}) different: amount: read model 19, replay 18`,
        );
        expect(run.stdout).toContain(`✗ runs (account_id=${ACCOUNT}, run_id=run-003) missing`);
        expect(run.stdout).toMatch(/2 mismatch\(es\)/);
      }
    } finally {
      await pool.query(`UPDATE usage_ledger SET amount = amount - 10000 WHERE event_id = $1 AND entry_index = $2`, [
        rows[0]?.event_id,
        rows[0]?.entry_index,
      ]);
    }
  });

  it('checks the account buckets against the domain’s own fold', async () => {
    const pool = ledger.api.infrastructure.pool;
    await pool.query(
      `UPDATE balance_buckets SET available = available + 10000 WHERE account_id = $1 AND project_id = ''`,
      [ACCOUNT],
    );
    try {
      const run = await cli('audit', 'verify', '--account', ACCOUNT);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `✗ domain (account_id=${ACCOUNT}) different: account buckets ≠ bucketsOf(fold(events)): available: read model 433, domain 432`,
      );
    } finally {
      await pool.query(
        `UPDATE balance_buckets SET available = available - 10000 WHERE account_id = $1 AND project_id = ''`,
        [ACCOUNT],
      );
    }
  });

  it('checks the daily figures and subscription periods behind the charts', async () => {
    const pool = ledger.api.infrastructure.pool;
    const { rows } = await pool.query<{ day: string }>(
      `UPDATE daily_balances SET consumed_in_day = consumed_in_day + 10000
        WHERE account_id = $1 AND project_id = 'proj-research' RETURNING day::text AS day`,
      [ACCOUNT],
    );
    expect(rows).toHaveLength(1);
    const { rows: periods } = await pool.query<Record<string, unknown>>(
      `DELETE FROM subscription_periods WHERE account_id = $1 RETURNING *`,
      [ACCOUNT],
    );
    expect(periods).toHaveLength(1);
    try {
      const run = await cli('audit', 'verify', '--account', ACCOUNT);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `✗ daily_balances (account_id=${ACCOUNT}, project_id=proj-research, day=${rows[0]?.day}) different: consumed_in_day: read model 19, replay 18`,
      );
      expect(run.stdout).toMatch(
        new RegExp(`✗ subscription_periods \\(account_id=${ACCOUNT}, period_start=[^)]+\\) missing`),
      );
    } finally {
      await pool.query(
        `UPDATE daily_balances SET consumed_in_day = consumed_in_day - 10000 WHERE account_id = $1 AND project_id = 'proj-research'`,
        [ACCOUNT],
      );
      await pool.query(
        `INSERT INTO subscription_periods SELECT * FROM jsonb_populate_recordset(NULL::subscription_periods, $1::jsonb)`,
        [JSON.stringify(periods, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))],
      );
    }
    // Put back, they are no longer named (an earlier test leaves a runs row missing on purpose).
    const after = await cli('audit', 'verify', '--account', ACCOUNT);
    expect(after.stdout).not.toMatch(/daily_balances|subscription_periods/);
  });

  it('refuses an unknown account', async () => {
    const run = await cli('audit', 'verify', '--account', 'acct-nobody');
    expect([run.code, run.stderr]).toEqual([2, expect.stringMatching(/no billing account "acct-nobody"/)]);
  });
});

describe('ledger audit export and check-export', () => {
  const exportTo = async (format: 'csv' | 'jsonl') => {
    const file = path.join(dir, `ledger-${format}.${format}`);
    const run = await cli('audit', 'export', '--account', ACCOUNT, '--format', format, '--out', file);
    expect(run.code).toBe(0);
    const digest = /digest ([0-9a-f]{64})/.exec(run.stdout)![1];
    expect(JSON.parse(await readFile(`${file}.digest`, 'utf8'))).toMatchObject({ digest, accountId: ACCOUNT });
    return { file, digest, lines: (await readFile(file, 'utf8')).split('\n').filter(Boolean) };
  };
  const check = (file: string) => cli('audit', 'check-export', file);
  const tampered = async (file: string, lines: string[], name: string) => {
    const copy = path.join(dir, `${name}${path.extname(file)}`);
    await writeFile(copy, `${lines.join('\n')}\n`);
    await writeFile(`${copy}.digest`, await readFile(`${file}.digest`));
    return copy;
  };

  it('exports rows linked to their events, which check clean', async () => {
    const { file, digest, lines } = await exportTo('jsonl');
    const rows = lines.map((text) => JSON.parse(text));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows[0]).toMatchObject({
      seq: '1',
      account_id: ACCOUNT,
      kind: 'grant',
      amount: '500',
      available_after: '500',
      prev_hash: '0'.repeat(64),
      event_type: 'CreditsGranted',
    });
    expect(rows[0].event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[0].position).toMatch(/^\d+\/\d+$/);
    expect(rows[0].command_id).toBeTruthy();
    expect(rows[rows.length - 1].hash).toBe(digest);
    expect(rows[rows.length - 1].available_after).toBe('432');
    const run = await check(file);
    expect([run.code, run.stdout]).toEqual([
      0,
      expect.stringMatching(/the chain is intact; digest [0-9a-f]{64}\n\s+matches/),
    ]);
  });

  it.each([['jsonl'], ['csv']] as const)('names the row that was edited, removed or moved (%s)', async (format) => {
    const { file, lines } = await exportTo(format);
    expect((await check(file)).code).toBe(0);
    const first = format === 'csv' ? 1 : 0; // the CSV header is line 1
    // Line numbers in the file, 1-based: the third and fourth ledger rows.
    const third = first + 3;
    const fourth = first + 4;

    const edited = [...lines];
    const original = defined(lines[third - 1], `line ${third}`);
    const amountEdited = original.replace(/"?amount"?:"18"|,18,/, (m) => m.replace('18', '19'));
    edited[third - 1] = amountEdited !== original ? amountEdited : original.replace(/reservation/, 'release');
    expect(edited[third - 1]).not.toBe(original);
    const editedRun = await check(await tampered(file, edited, `edited-${format}`));
    expect([editedRun.code, editedRun.stdout]).toEqual([1, expect.stringContaining(`line ${third}: edited`)]);

    const removed = lines.filter((_, index) => index !== fourth - 1);
    const removedRun = await check(await tampered(file, removed, `removed-${format}`));
    expect([removedRun.code, removedRun.stdout]).toEqual([1, expect.stringContaining(`line ${fourth}: missing`)]);

    const swapped = [...lines];
    [swapped[third - 1], swapped[fourth - 1]] = [defined(lines[fourth - 1]), defined(lines[third - 1])];
    const swappedRun = await check(await tampered(file, swapped, `swapped-${format}`));
    expect([swappedRun.code, swappedRun.stdout]).toEqual([1, expect.stringContaining(`line ${third}: reordered`)]);

    const cut = lines.slice(0, -1);
    const cutRun = await check(await tampered(file, cut, `cut-${format}`));
    expect([cutRun.code, cutRun.stdout]).toEqual([
      1,
      expect.stringMatching(/missing — 1 row\(s\) after the last line are gone/),
    ]);
  });

  it('refuses a bad format and a file it cannot read', async () => {
    const run = await cli('audit', 'export', '--account', ACCOUNT, '--format', 'xml', '--out', path.join(dir, 'x'));
    expect([run.code, run.stderr]).toEqual([2, expect.stringMatching(/--format csv or --format jsonl/)]);
    const missing = await check(path.join(dir, 'nothing-here.jsonl'));
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read/)]);
  });
});
