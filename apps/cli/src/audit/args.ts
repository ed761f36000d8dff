/** Parsing the arguments every audit command shares: accounts, projects, instants, positions. */
import { identifier, type Instant } from '@ledger/domain';
import { parsePosition } from '@ledger/event-store';
import type { AsOf } from '@ledger/projections';
import { CliError } from './io';

export function requireAccount(value: string | undefined, command: string): string {
  if (value === undefined) throw new CliError(`${command} needs --account <id>; see \`ledger ${command} --help\``);
  return checkId(value, '--account');
}

export function checkId(value: string, flag: string): string {
  if (!identifier.safeParse(value).success) {
    throw new CliError(`${flag} "${value}" is not an id (1–128 letters, digits, ".", "_", ":" or "-")`);
  }
  return value;
}

/** An ISO-8601 instant with a time, e.g. 2026-11-05T12:00:00Z (a bare date means its midnight UTC). */
export function parseInstant(value: string, flag: string): Instant {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) {
    throw new CliError(`${flag} "${value}" is not a time; give an ISO-8601 instant such as 2026-11-05T12:00:00Z`);
  }
  return new Date(time).toISOString();
}

/** `--as-of`: an instant, or a global position "commit/prepare" as receipts show it. */
export function parseAsOf(value: string | undefined, now: Date = new Date()): AsOf {
  if (value === undefined || value === 'now') return { instant: now.toISOString() };
  const position = parsePosition(value);
  if (position) return { position };
  if (/^\d+\/\d+$/.test(value) || !/^\d{4}-/.test(value)) {
    throw new CliError(
      `--as-of "${value}" is neither a time (an ISO-8601 instant such as 2026-11-05T12:00:00Z) nor a position (such as 812/3)`,
    );
  }
  return { instant: parseInstant(value, '--as-of') };
}

export function describeAsOf(asOf: AsOf): string {
  return 'position' in asOf ? `position ${asOf.position.commit}/${asOf.position.prepare}` : asOf.instant;
}
