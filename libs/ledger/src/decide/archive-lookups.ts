/**
 * The ids a decision may look up in the archive, so that a caller whose archive is kept elsewhere
 * (archive.ts, `stored`) can ask the store about them all at once before deciding. Commands name
 * archivable things only through these three fields; an id the state holds alive is never looked
 * up (every check asks the live state first), so it is left out.
 */
import type { ArchivedKind } from '../archive';
import type { AccountState } from '../state';

/** Any command, or a query deciding like one (PreviewRun): only the id fields matter. */
interface NamesIds {
  readonly accountId: string;
  readonly runId?: string | undefined;
  readonly holdId?: string | undefined;
  readonly grantId?: string | undefined;
}

export function archiveLookups(command: NamesIds, state: AccountState): Array<readonly [ArchivedKind, string]> {
  const lookups: Array<readonly [ArchivedKind, string]> = [];
  if (command.runId !== undefined && !state.runs.has(command.runId)) lookups.push(['run', command.runId]);
  if (command.holdId !== undefined && !state.holds.has(command.holdId)) lookups.push(['hold', command.holdId]);
  if (command.grantId !== undefined && !state.grantIds.has(command.grantId)) lookups.push(['grant', command.grantId]);
  return lookups;
}
