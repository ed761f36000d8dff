/**
 * `npm run rebuild -- [projection|all]`: rebuilds one projection (or each in turn) from position
 * zero aside and swaps it in, while the API and the live projector keep running. On a terminal it
 * shows one updating progress line; otherwise it logs a JSON line every few seconds.
 */
import { createEventStore, formatPosition } from '@ledger/event-store';
import { createKysely, createPool, loadConfig, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { openWorkerDatabase } from './database';
import { createLog, type Log } from '@ledger/platform';
import { ledgerMigrations } from '@ledger/database';
import { rebuildProjection, type RebuildProgress } from './rebuild';

const USAGE = `usage: rebuild [${projections.map((projection) => projection.name).join('|')}|all]`;
const JSON_PROGRESS_EVERY_MS = 5000;
const TTY_REDRAW_EVERY_MS = 100;

async function main(): Promise<number> {
  const argument = process.argv[2] ?? 'all';
  if (argument === '--help' || argument === '-h') {
    console.log(USAGE);
    return 0;
  }
  const chosen = argument === 'all' ? projections : projections.filter((projection) => projection.name === argument);
  if (chosen.length === 0) {
    console.error(`unknown projection "${argument}"\n${USAGE}`);
    return 2;
  }

  const tty = Boolean(process.stdout.isTTY);
  const log = createLog('rebuild');
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    log.warn(`${signal}: abandoning the rebuild; the live tables stay as they are`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const config = loadConfig();
  const database = await openWorkerDatabase(config, log, { reuseRunning: true });
  const pool = createPool(database.url, { max: 4 });
  const db = createKysely<ReadModelTables>(pool);
  const store = createEventStore(config, pool);
  try {
    await migrate(db, ledgerMigrations);
    for (const projection of chosen) {
      const report = tty ? terminalReporter() : jsonReporter(log);
      try {
        await rebuildProjection({
          db,
          store,
          projection,
          toProjectedEvent,
          onProgress: report,
          signal: controller.signal,
          log: tty ? undefined : log,
        });
      } finally {
        if (tty) process.stdout.write('\n');
      }
    }
    return 0;
  } catch (error) {
    if (controller.signal.aborted) return 130;
    log.error('rebuild failed; the live tables stay as they were', {
      error: error instanceof Error ? error.message : String(error),
    });
    return 1;
  } finally {
    await store.close();
    await db.destroy();
    await database.close();
  }
}

/** One line, redrawn in place. */
function terminalReporter(): (progress: RebuildProgress) => void {
  let drawnAt = 0;
  return (progress) => {
    const now = Date.now();
    if (progress.phase === 'building' && now - drawnAt < TTY_REDRAW_EVERY_MS) return;
    drawnAt = now;
    const parts = [
      `${progress.projection}: ${progress.phase}`,
      `${progress.eventsApplied.toLocaleString('en-US')} events`,
      `${progress.eventsPerSecond.toLocaleString('en-US')} ev/s`,
      `at ${formatPosition(progress.position)}`,
    ];
    if (progress.fraction !== null) parts.push(`${Math.floor(progress.fraction * 100)}%`);
    if (progress.phase === 'building' && progress.etaMs !== null) parts.push(`ETA ${duration(progress.etaMs)}`);
    if (progress.phase === 'done') parts.push(`in ${duration(progress.elapsedMs)}`);
    process.stdout.write(`\r\x1b[K${parts.join(' · ')}`);
  };
}

/** A JSON line every few seconds while building; the rebuild itself logs the end. */
function jsonReporter(log: Log): (progress: RebuildProgress) => void {
  let loggedAt = Date.now();
  return (progress) => {
    const now = Date.now();
    if (progress.phase === 'building' && now - loggedAt < JSON_PROGRESS_EVERY_MS) return;
    if (progress.phase === 'done') return;
    loggedAt = now;
    log.info(progress.phase, {
      projection: progress.projection,
      events: progress.eventsApplied,
      eventsPerSecond: progress.eventsPerSecond,
      position: formatPosition(progress.position),
      head: progress.head ? formatPosition(progress.head) : null,
      etaMs: progress.etaMs,
    });
  };
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
