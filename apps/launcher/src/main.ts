/**
 * `npm start`: the whole product on one machine. Starts the embedded Postgres once (unless
 * DATABASE_URL is set), migrates it, then runs the API and the projector as child processes on it.
 * SIGINT/SIGTERM are passed on to both; when both have exited, Postgres stops. If either dies on its
 * own, the other is stopped and the launcher exits non-zero.
 */
import {
  ConfigurationError,
  createKysely,
  createPool,
  loadConfig,
  migrate,
  startEmbeddedPostgres,
} from '@ledger/platform';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ledgerMigrations } from '@ledger/database';
import { createLog, SERVICE_NODE_FLAGS } from '@ledger/platform';

/** How long a child gets to finish after SIGTERM before it is killed. */
const STOP_GRACE_MS = 20_000;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number>;
}

async function main(): Promise<number> {
  const log = createLog('launcher');
  const config = loadConfig();
  let stopPostgres = async (): Promise<void> => undefined;
  let url = config.databaseUrl;
  if (!url) {
    log.info('starting the embedded Postgres', { dataDir: config.dataDir });
    const postgres = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
    url = postgres.url;
    stopPostgres = () => postgres.stop();
  }
  try {
    const db = createKysely(createPool(url, { max: 2 }));
    try {
      await migrate(db, ledgerMigrations);
    } finally {
      await db.destroy();
    }
    return await supervise(url, config.demo, !config.databaseUrl, log);
  } finally {
    await stopPostgres();
  }
}

async function supervise(
  databaseUrl: string,
  demo: boolean,
  embedded: boolean,
  log: ReturnType<typeof createLog>,
): Promise<number> {
  // The children see a DATABASE_URL either way: the demo default, and whether this is the
  // embedded development database (where the development keys may be used), are decided here, once.
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    LEDGER_DEMO: demo ? 'on' : 'off',
    LEDGER_EMBEDDED_POSTGRES: embedded ? 'on' : 'off',
  };
  // dist/apps/launcher/src → dist/apps
  const apps = path.resolve(__dirname, '..', '..');
  const children = [
    start('api', path.join(apps, 'api', 'src', 'main.js'), env),
    start('projector', path.join(apps, 'projector', 'src', 'main.js'), env),
  ];
  let stopping = false;
  let failed = false;
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
    }
    const killer = setTimeout(() => {
      for (const child of children) {
        if (child.process.exitCode === null && child.process.signalCode === null) {
          log.warn(`${child.name} did not stop in time; killing it`);
          child.process.kill('SIGKILL');
        }
      }
    }, STOP_GRACE_MS);
    killer.unref();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping the API and the projector`);
    stopAll(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const child of children) {
    void child.exited.then((code) => {
      if (stopping) return;
      stopping = true;
      failed = true;
      log.error(`${child.name} exited unexpectedly (${code}); stopping the rest`);
      stopAll('SIGTERM');
    });
  }
  const codes = await Promise.all(children.map((child) => child.exited));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failed) return 1;
  // A child stopped by our signal may report it as its exit: that is a clean stop.
  return codes.every((code) => code === 0 || code === 130 || code === 143) ? 0 : 1;
}

function start(name: string, script: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, script], { env, stdio: 'inherit' });
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    child.once('error', () => resolve(1));
  });
  return { name, process: child, exited };
}

const signalNumber = (signal: NodeJS.Signals): number => os.constants.signals[signal] ?? 0;

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A setting to fix is one line saying what to do; anything else is a fault, with its stack.
    console.error(error instanceof ConfigurationError ? `credit ledger: ${error.message}` : error);
    process.exit(1);
  },
);
