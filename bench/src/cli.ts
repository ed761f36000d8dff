/**
 * `npm run bench [-- <scenario>…] [--quick] [--results-dir <dir>] [--docs <file>] [--database-url <url>]`
 *
 * Runs the chosen scenarios (all by default) one after another on one Postgres — the embedded one,
 * started for the run, unless a server is given — writes each one's results as JSON and
 * regenerates the benchmarks page from the latest results. `--quick` shrinks every scenario to a
 * smoke run (about a minute in all) that checks the benchmarks work, not how fast.
 */
import 'reflect-metadata';
import path from 'node:path';
import { regenerateDocs, RESULT_FORMAT, writeResult, type ScenarioResult } from './report';
import { scenarios } from './scenarios';
import { describeEnvironment } from './support/machine';
import { openBenchPostgres } from './support/postgres';
import { createProgress } from './support/progress';

const ROOT = path.resolve(__dirname, '../..');
const USAGE = `usage: npm run bench -- [${scenarios.map((s) => s.name).join('|')}]… [--quick] [--results-dir dir] [--docs file] [--database-url url]`;

interface Arguments {
  readonly names: string[];
  readonly quick: boolean;
  readonly resultsDir: string;
  readonly docsFile: string;
  readonly databaseUrl: string | undefined;
}

function parse(argv: readonly string[]): Arguments | string {
  const names: string[] = [];
  let quick = false;
  let resultsDir = path.join(ROOT, 'bench/results');
  let docsFile = path.join(ROOT, 'docs/benchmarks.md');
  let databaseUrl = process.env.BENCH_DATABASE_URL || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--results-dir') resultsDir = path.resolve(value());
    else if (arg === '--docs') docsFile = path.resolve(value());
    else if (arg === '--database-url') databaseUrl = value();
    else if (arg === '--help' || arg === '-h') return USAGE;
    else if (arg !== undefined && scenarios.some((scenario) => scenario.name === arg)) names.push(arg);
    else return `unknown scenario or option "${arg}"\n${USAGE}`;
  }
  return { names: names.length ? names : scenarios.map((s) => s.name), quick, resultsDir, docsFile, databaseUrl };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === 'string') {
    console.error(args);
    return args === USAGE ? 0 : 2;
  }
  const overall = createProgress('bench');
  overall.note('starting', { scenarios: args.names.join(','), quick: args.quick });
  const postgres = await openBenchPostgres(args.databaseUrl);
  const runStartedAt = Date.now();
  try {
    const environment = await describeEnvironment(postgres.serverUrl);
    for (const name of args.names) {
      const scenario = scenarios.find((s) => s.name === name)!;
      const progress = createProgress(name);
      const startedAt = new Date();
      progress.note(`${scenario.title}`);
      const outcome = await scenario.run({ quick: args.quick, postgres, progress });
      progress.done();
      const result: ScenarioResult = {
        format: RESULT_FORMAT,
        scenario: name,
        title: scenario.title,
        quick: args.quick,
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
        environment,
        ...outcome,
      };
      await writeResult(args.resultsDir, result);
      for (const figure of result.figures) progress.note(figure.label, { value: figure.value, unit: figure.unit });
      // Written after every scenario: a run cut short still leaves the page current.
      await regenerateDocs(
        args.resultsDir,
        args.docsFile,
        scenarios.map((s) => s.name),
      );
    }
  } finally {
    await postgres.stop();
  }
  overall.note('done', { seconds: Math.round((Date.now() - runStartedAt) / 1000), results: args.resultsDir });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
