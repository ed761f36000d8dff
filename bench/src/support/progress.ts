/**
 * How a long benchmark shows it is alive: on a terminal, one line redrawn in place; otherwise a
 * JSON line now and then (the same log the projector and rebuild use), never one per request.
 */
import { createLog, type Log, type LogFields } from '@ledger/platform';

const TTY_REDRAW_MS = 100;
const JSON_EVERY_MS = 5000;

export interface Progress {
  /** A state worth a line of its own (a phase started, a figure measured). */
  note(message: string, fields?: LogFields): void;
  /** Where a long phase stands; throttled, so it may be called as often as convenient. */
  tick(message: string, fields?: LogFields): void;
  /** Ends a redrawn line before anything else writes. */
  done(): void;
}

export function createProgress(scenario: string, { tty = Boolean(process.stderr.isTTY) } = {}): Progress {
  // Progress goes to stderr: stdout stays free for whoever pipes the runner's summary.
  const log: Log = createLog(`bench:${scenario}`, {
    json: !tty,
    write: (_level, line) => process.stderr.write(`${line}\n`),
  });
  let shownAt = 0;
  let lineOpen = false;
  const closeLine = (): void => {
    if (lineOpen) process.stderr.write('\n');
    lineOpen = false;
  };
  return {
    note(message, fields) {
      closeLine();
      log.info(message, fields);
    },
    tick(message, fields = {}) {
      const at = Date.now();
      if (at - shownAt < (tty ? TTY_REDRAW_MS : JSON_EVERY_MS)) return;
      shownAt = at;
      if (!tty) return log.info(message, fields);
      const extras = Object.entries(fields)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' ');
      process.stderr.write(`\r\x1b[K${scenario}: ${message}${extras ? ` ${extras}` : ''}`);
      lineOpen = true;
    },
    done: closeLine,
  };
}

/** Silent progress, for callers that only want the figures. */
export const quietProgress: Progress = { note: () => undefined, tick: () => undefined, done: () => undefined };
