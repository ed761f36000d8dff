/**
 * The benchmarks' smoke test: `npm run bench -- --quick` runs every scenario end to end on the
 * test run's Postgres and writes well-formed results. It checks that the benchmarks work and what
 * they write, never how fast anything was: speed is measured by `npm run bench`, not asserted here.
 * Results go to a temporary directory, so the committed ones are never rewritten by a test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { scenarios } from '../src/scenarios';
import { serverUrl } from '../../test/support/database';

const ROOT = path.resolve(__dirname, '../..');

describe('npm run bench -- --quick', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'ledger-bench-smoke-'));
    await promisify(execFile)(
      process.execPath,
      [
        '-r',
        path.join(ROOT, 'bench/register.cjs'),
        path.join(ROOT, 'bench/src/cli.ts'),
        '--quick',
        '--results-dir',
        directory,
        '--docs',
        path.join(directory, 'benchmarks.md'),
        '--database-url',
        serverUrl(),
      ],
      { cwd: ROOT, maxBuffer: 16 * 2 ** 20, env: { ...process.env, BENCH_DATABASE_URL: '' } },
    );
    // About a minute on an idle 2-core machine, two or more beside other work: the timeout is
    // the margin for a busy one, and nothing here is timed.
  }, 900_000);
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('writes one well-formed result per scenario', async () => {
    const files = (await readdir(directory)).filter((file) => file.endsWith('.json')).sort();
    expect(files).toEqual(scenarios.map((scenario) => `${scenario.name}.json`).sort());
    for (const scenario of scenarios) {
      const result = JSON.parse(await readFile(path.join(directory, `${scenario.name}.json`), 'utf8'));
      expect(result).toMatchObject({
        format: 1,
        scenario: scenario.name,
        title: scenario.title,
        quick: true,
        startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        durationMs: expect.any(Number),
        environment: {
          machine: { cpus: expect.any(Number), cpuModel: expect.any(String), memoryGiB: expect.any(Number) },
          node: process.version,
          postgres: expect.stringMatching(/^\d+/),
        },
        parameters: expect.any(Object),
      });
      expect(result.figures.length).toBeGreaterThan(0);
      for (const figure of result.figures) {
        expect(figure).toEqual({
          name: expect.stringMatching(/^[a-z0-9_]+$/),
          label: expect.any(String),
          value: expect.any(Number),
          unit: expect.any(String),
          ...(figure.target ? { target: { op: expect.stringMatching(/^(>=|<|<=)$/), value: expect.any(Number) } } : {}),
          ...(figure.spread
            ? { spread: { min: expect.any(Number), max: expect.any(Number), count: expect.any(Number) } }
            : {}),
        });
        if (figure.spread) {
          expect(figure.spread.min).toBeLessThanOrEqual(figure.value);
          expect(figure.value).toBeLessThanOrEqual(figure.spread.max);
        }
        expect(Number.isFinite(figure.value)).toBe(true);
      }
    }
  });

  it('regenerates the benchmarks page with every scenario', async () => {
    const page = await readFile(path.join(directory, 'benchmarks.md'), 'utf8');
    expect(page).toMatch(/^# Benchmarks/);
    for (const scenario of scenarios) expect(page).toContain(`## ${scenario.name}`);
  });

  it('keeps the overdraft check of the hot account at zero', async () => {
    const result = JSON.parse(await readFile(path.join(directory, 'hot-account.json'), 'utf8'));
    const figure = (name: string) => result.figures.find((each: { name: string }) => each.name === name);
    expect(figure('overspent_credits').value).toBe(0);
    // Through batches too, unless the API has no batch endpoint (the scenario then says so).
    const batched = figure('batch_overspent_credits');
    if (batched) expect(batched.value).toBe(0);
    else expect(result.notes.join('\n')).toMatch(/answered 404/);
  });
});
