/**
 * Which account a page shows, and with which key, for each state of the switch: demo and empty read
 * the demo workspace with its public key; live reads the signed-in key's account; error shows what
 * a failing query API looks like.
 */
import type { AccountList } from './api-types';
import type { Place, WorkspaceState } from './place';
import { QueryApiError, queryApi, readSettings, type QueryApi } from './query-api';
import { signedInKey, signOut } from './session';

export type Workspace =
  | {
      readonly kind: 'account';
      readonly state: 'demo' | 'live' | 'empty';
      readonly api: QueryApi;
      readonly accountId: string;
      /** The other accounts the key may read (live state only), to switch between. */
      readonly accounts: AccountList['accounts'];
      readonly principal: string;
      /** Read at least as of this position (the URL's, or the demo's seeding). */
      readonly atLeastPosition?: string;
    }
  | { readonly kind: 'sign-in'; readonly state: 'live'; readonly problem?: string }
  | { readonly kind: 'no-accounts'; readonly state: 'live'; readonly principal: string }
  | { readonly kind: 'demo-off'; readonly state: 'demo' | 'empty' }
  | { readonly kind: 'error-preview'; readonly state: 'error' };

export type AccountWorkspace = Extract<Workspace, { kind: 'account' }>;
export type NoAccountWorkspace = Exclude<Workspace, { kind: 'account' }>;

export async function resolveWorkspace(place: Place): Promise<Workspace> {
  const settings = await readSettings();
  const state: WorkspaceState = place.state ?? (signedInKey() || !settings.demo ? 'live' : 'demo');
  switch (state) {
    case 'error':
      return { kind: 'error-preview', state };
    case 'demo':
    case 'empty': {
      if (!settings.demo) return { kind: 'demo-off', state };
      const accountId = state === 'demo' ? settings.demo.accountId : settings.demo.emptyAccountId;
      return {
        kind: 'account',
        state,
        api: queryApi(settings.demo.readerKey),
        accountId,
        accounts: [],
        principal: 'demo visitor',
      };
    }
    case 'live':
      return live(place);
  }
}

async function live(place: Place): Promise<Workspace> {
  const key = signedInKey();
  if (!key) return { kind: 'sign-in', state: 'live' };
  const api = queryApi(key);
  try {
    const me = await api.me();
    const { accounts } = await api.accounts();
    const accountId = place.account ?? accounts[0]?.accountId;
    if (!accountId) return { kind: 'no-accounts', state: 'live', principal: me.principal };
    return {
      kind: 'account',
      state: 'live',
      api,
      accountId,
      accounts,
      principal: me.principal,
      atLeastPosition: place.atLeastPosition,
    };
  } catch (error) {
    if (error instanceof QueryApiError && error.code === 'unauthenticated') {
      signOut();
      return { kind: 'sign-in', state: 'live', problem: error.message };
    }
    throw error;
  }
}
