/**
 * The pages' only source of figures: the ledger's query API (/v1), read with the visitor's key.
 * A refusal keeps the API's own code and message; an API that cannot be reached is `unreachable`.
 */
import type {
  AccountEvent,
  AlertRules,
  AccountList,
  DailyFigures,
  Me,
  Overview,
  ProjectBuckets,
  QueryOf,
  UsagePage,
  WorkspaceSettings,
} from './api-types';

export class QueryApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** null when no answer came at all. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** The usage filters the pages send: the ledger page's and the CSV export's, paging aside. */
export type UsageFilters = QueryOf<'usageExport'>;

type Query = Record<string, unknown>;

function pathWith(path: string, query: Query = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** How often a read that waits for the projector to catch up is asked again before the page gives up. */
const CATCH_UP_RETRIES = 5;
const CATCH_UP_PAUSE_MS = 1_000;

async function answer(path: string, key: string | undefined): Promise<Response> {
  for (let retry = 0; ; retry++) {
    try {
      return await answerOnce(path, key);
    } catch (error) {
      // The read models are behind the position asked for (a projector starting or catching up):
      // worth waiting a little longer than the API's own bound before showing an error.
      if (!(error instanceof QueryApiError && error.code === 'read_model_behind') || retry === CATCH_UP_RETRIES) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_PAUSE_MS));
    }
  }
}

async function answerOnce(path: string, key: string | undefined): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  } catch {
    throw new QueryApiError('unreachable', 'The ledger’s query API could not be reached. Is the ledger running?', null);
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as { code?: string; message?: string } | null;
  throw new QueryApiError(
    body?.code ?? `http_${response.status}`,
    body?.message ?? `The query API answered ${response.status} ${response.statusText}.`,
    response.status,
  );
}

const json = async <T>(path: string, key?: string): Promise<T> => (await answer(path, key)).json() as Promise<T>;

const account = (accountId: string) => `/v1/accounts/${encodeURIComponent(accountId)}`;

export const readSettings = () => json<WorkspaceSettings>('/workspace/config.json');

export interface QueryApi {
  me(): Promise<Me>;
  accounts(): Promise<AccountList>;
  overview(accountId: string, options: QueryOf<'overview'>): Promise<Overview>;
  usage(accountId: string, filters: QueryOf<'usage'>): Promise<UsagePage>;
  projects(accountId: string, options: QueryOf<'projects'>): Promise<ProjectBuckets>;
  event(accountId: string, revision: string): Promise<AccountEvent>;
  usageCsv(accountId: string, filters: UsageFilters): Promise<Blob>;
  daily(accountId: string, query: QueryOf<'daily'>): Promise<DailyFigures>;
  alertRules(accountId: string, options: QueryOf<'alertRules'>): Promise<AlertRules>;
}

export function queryApi(key: string): QueryApi {
  return {
    me: () => json('/v1/me', key),
    accounts: () => json('/v1/accounts', key),
    overview: (accountId, query) => json(pathWith(`${account(accountId)}/overview`, { ...query }), key),
    usage: (accountId, query) => json(pathWith(`${account(accountId)}/usage`, { ...query }), key),
    projects: (accountId, query) => json(pathWith(`${account(accountId)}/projects`, { ...query }), key),
    event: (accountId, revision) => json(`${account(accountId)}/events/${encodeURIComponent(revision)}`, key),
    usageCsv: async (accountId, query) =>
      (await answer(pathWith(`${account(accountId)}/usage.csv`, { ...query }), key)).blob(),
    daily: (accountId, query) => json(pathWith(`${account(accountId)}/daily`, { ...query }), key),
    alertRules: (accountId, query) => json(pathWith(`${account(accountId)}/alert-rules`, { ...query }), key),
  };
}
