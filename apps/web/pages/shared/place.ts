/**
 * Where a page is: everything it shows is named by its URL (state, account, project, filters,
 * cursor, the read-your-writes position), so every view can be linked, reloaded and tested.
 */
import type { UsageKind } from './api-types';
import { usageKinds } from './usage-kinds';

export const workspaceStates = ['demo', 'live', 'empty', 'error'] as const;
export type WorkspaceState = (typeof workspaceStates)[number];
export type PageName = 'billing' | 'usage';

export interface Place {
  readonly state?: WorkspaceState;
  readonly account?: string;
  readonly project?: string;
  readonly atLeastPosition?: string;
  readonly kind?: UsageKind;
  /** The rows one command moved (a billing event's commandId). */
  readonly command?: string;
  /** One run's rows. */
  readonly run?: string;
  /** `fired`: only the rows of commands that fired an alert. */
  readonly alerts?: 'fired';
  /** Calendar days (YYYY-MM-DD), inclusive, in UTC. */
  readonly from?: string;
  readonly to?: string;
  readonly cursor?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function readPlace(search: string): Place {
  const params = new URLSearchParams(search);
  const text = (name: string) => params.get(name) || undefined;
  const oneOf = <T extends string>(name: string, values: readonly T[]) =>
    values.find((value) => value === params.get(name));
  const day = (name: string) => (DAY.test(params.get(name) ?? '') ? params.get(name)! : undefined);
  return {
    state: oneOf('state', workspaceStates),
    account: text('account'),
    project: text('project'),
    atLeastPosition: text('atLeastPosition'),
    kind: oneOf('kind', usageKinds),
    command: text('command'),
    run: text('run'),
    alerts: oneOf('alerts', ['fired'] as const),
    from: day('from'),
    to: day('to'),
    cursor: text('cursor'),
  };
}

export function hrefFor(page: PageName, place: Place): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(place)) if (value) params.set(name, value);
  const search = params.toString();
  return `/workspace/${page}${search ? `?${search}` : ''}`;
}

/** The usage API's half-open instant range for an inclusive range of UTC days. */
export function instantRange(place: Place): { from?: string; to?: string } {
  const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
  return {
    from: place.from && `${place.from}T00:00:00.000Z`,
    to: place.to && nextDay(place.to),
  };
}
