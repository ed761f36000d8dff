/// <reference lib="dom" />
/**
 * The workspace pages as a person sees them: real Chromium, the real API serving the pages on a
 * fresh database, the real projector, and figures that came from commands over HTTP.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseCsvLine } from '@ledger/platform';
import { DEMO_ACCOUNT, runSeedScenario } from '@ledger/client';
import { launchChromium } from '../../../test/support/browser';
import {
  FRESHNESS_TIMEOUT_MS,
  startTestLedger,
  type LedgerApi,
  type TestLedger,
} from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';
import { formatAmount } from '../pages/shared/amounts';
import { USAGE_PAGE_SIZE } from '../pages/usage/page-size';

let ledger: TestLedger;
let projector: RunningProjector;
let browser: Browser;
let page: Page;
/** The position of the last command sent to acct-live. */
let livePosition: string;

const LIVE_ACCOUNT = 'acct-live';
const EXTRA_GRANTS = 30;

beforeAll(async () => {
  ledger = await startTestLedger({ demo: true });
  projector = startProjector(ledger);
  expect(await ledger.api.demo).toBe('created');
  await runSeedScenario(ledger.client(), LIVE_ACCOUNT);
  for (let i = 0; i < EXTRA_GRANTS; i++) {
    const receipt = await ledger
      .client()
      .command(
        `/v1/accounts/${LIVE_ACCOUNT}/grants`,
        { grantId: `bonus-${i}`, amount: '1.5', source: 'manual' },
        `bonus-${i}`,
      );
    expect(receipt.status).toBe(200);
    livePosition = receipt.body.position;
  }
  browser = await launchChromium();
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => {
    throw error;
  });
});

afterEach(async () => {
  await page?.close();
});

afterAll(async () => {
  await browser?.close();
  await projector?.stop();
  await ledger?.close();
});

const url = (pathAndQuery: string, api: LedgerApi = ledger.api) => `${api.url}${pathAndQuery}`;
const figure = (name: string) => page.locator(`[data-figure="${name}"] .value`);
const bucket = (name: string) => page.locator(`[data-bucket="${name}"] .amount`);

/** Opens a page and waits until it shows an account (the figures load after the document). */
async function open(pathAndQuery: string, api: LedgerApi = ledger.api): Promise<void> {
  await page.goto(url(pathAndQuery, api));
  await page.locator('[data-account]').waitFor();
}

async function signIn(key: string): Promise<void> {
  await page.goto(url('/workspace/billing?state=live'));
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-account]').waitFor();
}

describe('the billing overview', () => {
  it('shows the seed page’s figures for the demo account, made by real commands', async () => {
    await open('/workspace/billing?state=demo');
    await expect(figure('available').textContent()).resolves.toBe('432');
    await expect(figure('reserved').textContent()).resolves.toBe('24');
    await expect(figure('hold').textContent()).resolves.toBe('8');
    await expect(figure('settlement-threshold').textContent()).resolves.toBe('100 CNY');
    await expect(bucket('included').textContent()).resolves.toBe('500');
    // Consumed counts the demo's weeks of history too (apps/api/src/workspace/demo-history.ts).
    const { buckets } = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/overview`)).body;
    await expect(bucket('consumed').textContent()).resolves.toBe(formatAmount(buckets.consumed));
    await expect(page.locator('[data-plan]').textContent()).resolves.toBe('Growth launch plan');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Billing');
    await expect(page.locator('main').textContent()).resolves.toContain('Service boundary');
    const current = page.getByRole('navigation', { name: 'Page state' }).locator('[aria-current]');
    await expect(current.textContent()).resolves.toBe('Demo');
  });

  it('shows the relationship map with the account’s own facts, and recent events linking to the ledger', async () => {
    await open('/workspace/billing?state=demo');
    const stages = page.locator('[data-stage]');
    await expect(stages.evaluateAll((cards) => cards.map((card) => card.getAttribute('data-stage')))).resolves.toEqual([
      'subscription-posture',
      'credit-wallet',
      'accepted-execution',
      'usage-ledger',
    ]);
    const overview = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/overview`)).body;
    const bridge = page.locator('[data-stage="accepted-execution"]');
    await expect(bridge.textContent()).resolves.toContain(
      `Accepted runs${overview.relationship.acceptedExecution.acceptedRuns}`,
    );
    await expect(page.locator('[data-stage="usage-ledger"]').textContent()).resolves.toContain(
      `Ledger rows${overview.relationship.usageLedger.rows}`,
    );
    const rows = page.locator('table.events tbody tr');
    await expect(rows.count()).resolves.toBe(overview.recentEvents.length);
    await expect(rows.first().locator('td').first().textContent()).resolves.toBe(overview.recentEvents[0].summary);
    // An accepted run moves money in its CreditsReserved event, appended beside RunAccepted by the
    // same command: the link opens exactly that command's rows.
    await rows.first().getByRole('link').click();
    await page.waitForURL(/\/workspace\/usage\?/);
    const ledgerRows = page.locator('table.ledger tbody tr');
    await ledgerRows.first().waitFor();
    const { rows: expected } = (
      await ledger
        .client('dashboard-key-all')
        .get(`/v1/accounts/${DEMO_ACCOUNT}/usage?command=${overview.recentEvents[0].commandId}`)
    ).body;
    expect(expected.length).toBeGreaterThan(0);
    await expect(ledgerRows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id')))).resolves.toEqual(
      expected.map((row: { eventId: string }) => row.eventId),
    );
    await expect(ledgerRows.first().getAttribute('data-kind')).resolves.toBe('reservation');
  });

  it('shows a project’s share when the project filter is chosen', async () => {
    await open('/workspace/billing?state=demo');
    await page.getByRole('combobox', { name: 'Project' }).selectOption('proj-support');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/project=proj-support/);
    await page.locator('[data-account][data-project="proj-support"]').waitFor();
    const share = (
      await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/overview?project=proj-support`)
    ).body;
    await expect(figure('reserved').textContent()).resolves.toBe(share.buckets.reserved);
    await expect(figure('hold').textContent()).resolves.toBe(share.buckets.hold);
    await expect(bucket('consumed').textContent()).resolves.toBe(share.buckets.consumed);
    // The project's share differs from the account's: the filter really changed the figures.
    const whole = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/overview`)).body;
    await expect(bucket('consumed').textContent()).resolves.not.toBe(formatAmount(whole.buckets.consumed));
    await expect(page.locator('table.events tbody tr').count()).resolves.toBe(share.recentEvents.length);
  });

  it('shows the account’s active alerts and its rules, each firing opening the movement that crossed', async () => {
    await open('/workspace/billing?state=demo');
    const alerts = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/alert-rules`)).body;
    const firing = alerts.rules.filter((rule: { firing: boolean }) => rule.firing);
    // the demo's low-balance rule fired (its runs took available below 450); settlement-ready waits
    expect(firing.map((rule: { ruleId: string }) => rule.ruleId)).toEqual(['low-balance']);
    const panel = page.locator('section.alerts');
    await expect(
      panel
        .locator('table.alert-rules tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-rule-id'), tr.getAttribute('data-firing')])),
    ).resolves.toEqual(
      alerts.rules.map((rule: { ruleId: string; firing: boolean }) => [rule.ruleId, String(rule.firing)]),
    );
    const card = panel.locator('.active-alerts [data-rule-id="low-balance"]');
    await expect(card.locator('h4').textContent()).resolves.toBe('Available credits below 450 credits');
    await expect(card.locator('.amount').getAttribute('data-observed')).resolves.toBe(firing[0].lastObserved);
    await expect(card.locator('.amount').textContent()).resolves.toBe(`${firing[0].lastObserved} credits available`);
    await expect(card.locator('time').getAttribute('datetime')).resolves.toBe(firing[0].lastFiredAt);

    // The firing came with the movement that crossed: its link opens exactly that command's rows.
    const crossing = alerts.recent.find((f: { ruleId: string; status: string }) => f.status === 'fired');
    await card.getByRole('link', { name: 'the movement that crossed' }).click();
    await page.waitForURL(new RegExp(`command=${crossing.commandId}`));
    const rows = page.locator('table.ledger tbody tr');
    await rows.first().waitFor();
    const { rows: expected } = (
      await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/usage?command=${crossing.commandId}`)
    ).body;
    await expect(rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id')))).resolves.toEqual(
      expected.map((row: { eventId: string }) => row.eventId),
    );
    await expect(rows.first().getAttribute('data-kind')).resolves.toBe('reservation');
  });

  it('shows an empty account helpfully, not blank', async () => {
    await open('/workspace/billing?state=empty');
    await page.getByRole('heading', { name: 'No credits or runs yet' }).waitFor();
    await expect(figure('available').textContent()).resolves.toBe('0');
    await expect(figure('settlement-threshold').textContent()).resolves.toBe('not set');
    await expect(page.locator('main').textContent()).resolves.toContain('No billing events yet.');
  });

  it('previews the error state with a message and a retry', async () => {
    await page.goto(url('/workspace/billing?state=error'));
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toContain('query API could not be reached');
    await expect(alert.getByRole('button', { name: 'Retry' }).isVisible()).resolves.toBe(true);
  });

  it('shows the signed-in key’s account in the live state, with a command sent over the API', async () => {
    await signIn('dashboard-key-all');
    // The key may read every account: the page lists them; the live one is chosen from the list.
    await page.getByRole('combobox', { name: 'Account' }).selectOption(LIVE_ACCOUNT);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.waitForURL(new RegExp(`account=${LIVE_ACCOUNT}`));
    await page.locator(`[data-account="${LIVE_ACCOUNT}"]`).waitFor();

    // The projector is paused when the command lands: only a page that reads at the receipt's
    // position (read-your-writes) can show it, and it must wait for the projector to get there.
    await projector.stop();
    const receipt = await ledger
      .client()
      .command(
        `/v1/accounts/${LIVE_ACCOUNT}/grants`,
        { grantId: 'topup-live', amount: '250', source: 'top_up' },
        'topup-live',
      );
    expect(receipt.status).toBe(200);
    // Restarted after the API's own wait for it (5 s) has run out once: the page asks again.
    setTimeout(() => (projector = startProjector(ledger)), FRESHNESS_TIMEOUT_MS + 1_000);
    // The page must get there by asking again, never showing the error panel on the way.
    await page.addInitScript(() => {
      new MutationObserver(() => {
        if (document.querySelector('[data-state="error"]')) document.documentElement.dataset.sawError = 'yes';
      }).observe(document, { childList: true, subtree: true });
    });
    await open(`/workspace/billing?state=live&account=${LIVE_ACCOUNT}&atLeastPosition=${receipt.body.position}`);
    await expect(page.evaluate(() => document.documentElement.dataset.sawError)).resolves.toBeUndefined();
    const newest = page.locator('table.events tbody tr').first();
    await expect(newest.textContent()).resolves.toContain('250');
    const overview = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${LIVE_ACCOUNT}/overview`)).body;
    await expect(figure('available').textContent()).resolves.toBe(overview.accountAvailable);

    await open(`/workspace/usage?state=live&account=${LIVE_ACCOUNT}&atLeastPosition=${receipt.body.position}`);
    const first = page.locator('table.ledger tbody tr').first();
    await expect(first.getAttribute('data-kind')).resolves.toBe('grant');
    await expect(first.textContent()).resolves.toContain('topup-live');
    await expect(first.textContent()).resolves.toContain('250');
  });

  it('asks for a key again when the one presented is not recognised', async () => {
    await page.goto(url('/workspace/billing?state=live'));
    await page.getByLabel('API key').fill('not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not recognised');
  });

  it('can be driven from the keyboard: the state switch follows Tab and Enter', async () => {
    await open('/workspace/billing?state=demo');
    await figure('available').waitFor();
    const empty = page.getByRole('navigation', { name: 'Page state' }).getByRole('link', { name: 'Empty' });
    for (let presses = 0; presses < 15; presses++) {
      await page.keyboard.press('Tab');
      if (await empty.evaluate((link) => link === document.activeElement)) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(/state=empty/);
  });
});

describe('the usage ledger', () => {
  const livePage = (query = '') =>
    url(`/workspace/usage?state=live&account=${LIVE_ACCOUNT}&atLeastPosition=${livePosition}${query}`);

  it('pages through every row with the cursor, none twice, none missed', async () => {
    await signIn('dashboard-key-all');
    await page.goto(livePage());
    await page.locator('[data-account]').waitFor();
    const seen: string[] = [];
    for (;;) {
      const rows = page.locator('table.ledger tbody tr');
      await rows.first().waitFor();
      const keys = await rows.evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-event-id')}`));
      expect(keys.length).toBeLessThanOrEqual(USAGE_PAGE_SIZE);
      seen.push(...keys);
      const older = page.getByRole('link', { name: 'Older →' });
      if ((await older.count()) === 0) break;
      await older.click();
      await page.waitForURL(/cursor=/);
      await page.waitForFunction(
        (previous) => document.querySelector('table.ledger tbody tr')?.getAttribute('data-event-id') !== previous,
        keys[0],
      );
    }
    const all = await ledger.api.infrastructure.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM usage_ledger WHERE account_id = $1',
      [LIVE_ACCOUNT],
    );
    expect(seen.length).toBe(Number(all.rows[0]?.n));
    expect(seen.length).toBeGreaterThan(USAGE_PAGE_SIZE);
  });

  it('filters by kind and downloads what is filtered as CSV', async () => {
    await signIn('dashboard-key-all');
    await page.goto(livePage());
    await page.locator('[data-account]').waitFor();
    await page.getByRole('combobox', { name: 'Kind' }).selectOption('grant');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/kind=grant/);
    await page.locator('table.ledger tbody tr').first().waitFor();
    await expect(
      page
        .locator('table.ledger tbody tr')
        .evaluateAll((trs) => trs.every((tr) => tr.getAttribute('data-kind') === 'grant')),
    ).resolves.toBe(true);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'usage-csv-')), download.suggestedFilename());
    await download.saveAs(file);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\r\n').map(parseCsvLine);
    const [header = [], ...rows] = lines;
    const kind = header.indexOf('kind');
    const amount = header.indexOf('amount');
    const grants = await ledger.api.infrastructure.pool.query<{ amount: string }>(
      "SELECT amount::text FROM usage_ledger WHERE account_id = $1 AND kind = 'grant'",
      [LIVE_ACCOUNT],
    );
    expect(rows.length).toBe(grants.rows.length);
    expect(rows.every((row) => row[kind] === 'grant')).toBe(true);
    expect(rows.filter((row) => row[amount] === '1.5').length).toBe(EXTRA_GRANTS);
  });

  it('filters to the rows that fired an alert', async () => {
    await open('/workspace/usage?state=demo');
    const all = page.locator('table.ledger tbody tr');
    await all.first().waitFor();
    const allCount = await all.count();
    await page.getByRole('combobox', { name: 'Alerts' }).selectOption('fired');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/alerts=fired/);
    await page.waitForFunction(
      (before) => document.querySelectorAll('table.ledger tbody tr').length < before,
      allCount,
    );
    const { rows: expected } = (
      await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/usage?alerts=fired`)
    ).body;
    // the demo's low-balance rule fired twice: with run-003's reservation and, after it cleared, run-005's
    expect(expected.map((row: { runId: string; kind: string }) => [row.runId, row.kind])).toEqual([
      ['run-005', 'reservation'],
      ['run-003', 'reservation'],
    ]);
    // The table empties while the filtered page loads: wait for the filtered rows themselves.
    await page.waitForFunction(
      (count) => document.querySelectorAll('table.ledger tbody tr[data-event-id]').length === count,
      expected.length,
    );
    await expect(
      page.locator('table.ledger tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id'))),
    ).resolves.toEqual(expected.map((row: { eventId: string }) => row.eventId));
    await expect(page.locator('.account-bar').textContent()).resolves.toContain(
      'only the rows of commands that fired an alert',
    );
  });

  it('opens the event behind a row: type, metadata and position', async () => {
    await open('/workspace/usage?state=demo');
    const row = page.locator('table.ledger tbody tr').first();
    await row.waitFor();
    const eventId = await row.getAttribute('data-event-id');
    await row.getByRole('button').click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('[data-field="position"]').waitFor();
    const stored = (
      await ledger.client('auditor-key-all').get(`/v1/audit/accounts/${DEMO_ACCOUNT}/events?limit=1000`)
    ).body.events.find((event: { eventId: string }) => event.eventId === eventId);
    await expect(dialog.locator('[data-field="type"]').textContent()).resolves.toBe(stored.type);
    await expect(dialog.locator('[data-field="position"]').textContent()).resolves.toBe(stored.position);
    await expect(dialog.locator('[data-field="metadata"]').textContent()).resolves.toContain(stored.metadata.commandId);
    await page.keyboard.press('Escape');
    await expect(dialog.isVisible()).resolves.toBe(false);
  });

  it('narrows to one run from any of its rows', async () => {
    await open('/workspace/usage?state=demo');
    await page.locator('table.ledger').getByRole('link', { name: 'run-002' }).first().click();
    await page.waitForURL(/run=run-002/);
    await page.locator('table.ledger tbody tr').first().waitFor();
    const { rows } = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/usage?run=run-002`))
      .body;
    await expect(
      page.locator('table.ledger tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-kind'))),
    ).resolves.toEqual(rows.map((row: { kind: string }) => row.kind));
  });

  it('shows each project’s buckets', async () => {
    await open('/workspace/usage?state=demo');
    const breakdown = (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/projects`)).body;
    for (const project of breakdown.projects) {
      const cells = page.locator(`table.breakdown tr[data-project="${project.projectId}"] td`);
      await expect(cells.allTextContents()).resolves.toEqual([
        project.buckets.included,
        project.buckets.bonus,
        project.buckets.reserved,
        project.buckets.consumed,
        project.buckets.hold,
        project.buckets.expired,
      ]);
    }
  });
});

describe('the figures over time', () => {
  type Daily = {
    days: Array<{
      day: string;
      available: string;
      buckets: Record<string, string | null>;
      consumedByProject: Record<string, string>;
    }>;
    projects: Array<{ projectId: string; name: string | null }>;
    periods: Array<{ start: string }>;
  };
  const daily = async (query = '') =>
    (await ledger.client('dashboard-key-all').get(`/v1/accounts/${DEMO_ACCOUNT}/daily${query}`)).body as Daily;

  /** The points of a chart, from its table of points: day → series label → the exact amount. */
  const points = (name: string) =>
    page.locator(`table[data-points="${name}"] tbody tr`).evaluateAll((rows) =>
      rows.map((row) => ({
        day: row.getAttribute('data-day'),
        ...Object.fromEntries(
          Array.from(row.querySelectorAll('td')).map((cell) => [cell.dataset.series, cell.dataset.amount]),
        ),
      })),
    );

  /** How many pixels of the chart's canvas uPlot painted: a chart really drawn, not an empty box. */
  const painted = (chart: string) =>
    page.locator(`[data-chart="${chart}"] canvas`).evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) count++;
      return { count, width: canvas.width, height: canvas.height };
    });

  const BALANCES = 'Available, reserved and held credits per day';
  const CONSUMPTION = 'Credits consumed per day, by project';

  it('draws both charts for the demo account, their points the daily read model’s', async () => {
    await open('/workspace/billing?state=demo');
    await page.locator(`[data-chart="${BALANCES}"] canvas`).waitFor();
    await page.locator(`[data-chart="${CONSUMPTION}"] canvas`).waitFor();
    for (const chart of [BALANCES, CONSUMPTION]) {
      const drawn = await painted(chart);
      expect(drawn.width).toBeGreaterThan(300);
      expect(drawn.height).toBeGreaterThan(100);
      expect(drawn.count).toBeGreaterThan(1000);
    }
    const figures = await daily();
    expect(figures.days.length).toBeGreaterThanOrEqual(35);
    await expect(points('balances')).resolves.toEqual(
      figures.days.map((d) => ({
        day: d.day,
        Available: d.available,
        Reserved: d.buckets.reserved,
        Hold: d.buckets.hold,
      })),
    );
    await expect(points('consumption')).resolves.toEqual(
      figures.days.map((d) => ({
        day: d.day,
        ...Object.fromEntries(figures.projects.map((p) => [p.name, d.consumedByProject[p.projectId]])),
      })),
    );
    // The legend lists the projects in the table's order, though the stack is drawn top down.
    const legend = await page.locator(`[data-chart="${CONSUMPTION}"] .u-legend .u-series .u-label`).allTextContents();
    expect(legend).toEqual(['Day', ...figures.projects.map((p) => p.name)]);
    // The period boundary the history crossed is named beside the chart it is marked on.
    const boundary = figures.periods.at(-1)!.start.slice(0, 10);
    await expect(page.locator('#balance-chart-title + .hint').textContent()).resolves.toContain(boundary);
  });

  it('follows the project filter: one project’s consumption, and its share of reserved and held', async () => {
    await open('/workspace/billing?state=demo');
    await page.locator(`[data-chart="${CONSUMPTION}"] canvas`).waitFor();
    const everyProject = await points('consumption');
    await page.getByRole('combobox', { name: 'Project' }).selectOption('proj-support');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('[data-account][data-project="proj-support"]').waitFor();
    await page.locator(`[data-chart="${CONSUMPTION}"] canvas`).waitFor();
    const figures = await daily('?project=proj-support');
    const support = await points('consumption');
    expect(support).toEqual(
      figures.days.map((d) => ({ day: d.day, 'Support triage': d.consumedByProject['proj-support'] })),
    );
    expect(support).not.toEqual(everyProject);
    await expect(points('balances')).resolves.toEqual(
      figures.days.map((d) => ({
        day: d.day,
        'Available (account)': d.available,
        Reserved: d.buckets.reserved,
        Hold: d.buckets.hold,
      })),
    );
    expect((await painted(CONSUMPTION)).count).toBeGreaterThan(100);
  });
});

describe('when the query API stops', () => {
  it('shows the error state with a retry instead of stale figures', async () => {
    const instance = await ledger.startAnotherApi();
    await instance.demo;
    await open('/workspace/billing?state=demo', instance);
    await expect(figure('available').textContent()).resolves.toBe('432');
    await instance.close();
    await page.getByRole('button', { name: 'Refresh' }).click();
    const alert = page.getByRole('alert');
    await expect(alert.locator('h2').textContent()).resolves.toBe('The ledger cannot be reached');
    await expect(page.locator('[data-figure]').count()).resolves.toBe(0);
    // Retry asks again (the panel gives way to "loading") and, the API still down, fails again: a
    // new error panel, not the old one still standing. Marking the old one tells them apart, so
    // the test waits for the retry's own answer instead of racing it.
    const errorPanel = page.locator('[data-state="error"]');
    await errorPanel.evaluate((panel) => panel.setAttribute('data-before-retry', ''));
    await alert.getByRole('button', { name: 'Retry' }).click();
    const again = page.locator('[data-state="error"]:not([data-before-retry])');
    await again.waitFor();
    await expect(again.getAttribute('role')).resolves.toBe('alert');
    await expect(again.locator('h2').textContent()).resolves.toBe('The ledger cannot be reached');
    await expect(page.locator('[data-figure]').count()).resolves.toBe(0);
  });
});

describe('on a desktop and on a phone', () => {
  // `npm run screenshots` keeps them in docs/screenshots (shown in README.md); a test run, in a temp dir.
  const folder = process.env.UPDATE_SCREENSHOTS
    ? path.resolve(__dirname, '../../../docs/screenshots')
    : path.join(os.tmpdir(), 'ledger-screenshots');
  const screens = [
    { name: 'desktop', width: 1280, height: 900 },
    { name: 'narrow', width: 390, height: 844 },
  ];

  it.each(screens)(
    'reads without sideways scrolling on a $name screen ($width px)',
    async ({ name, width, height }) => {
      await page.setViewportSize({ width, height });
      for (const pageName of ['billing', 'usage']) {
        await open(`/workspace/${pageName}?state=demo`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await page.screenshot({ path: path.join(folder, `${pageName}-${name}.png`), fullPage: true });
      }
    },
  );
});
