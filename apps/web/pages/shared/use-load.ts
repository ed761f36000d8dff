/**
 * Loads what a page shows, keeps it fresh (every 15 s while the tab is visible, and on demand), and
 * says plainly when loading failed: a failed refresh replaces stale figures with the error, so a
 * page never shows numbers it could not confirm.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { QueryApiError } from './query-api';

export type Loaded<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly value: T; readonly refreshing: boolean }
  | { readonly status: 'failed'; readonly error: QueryApiError };

const REFRESH_MS = 15_000;

export function useLoad<T>(load: () => Promise<T>, key: string): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ status: 'loading' });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setLoaded((current) => (current.status === 'ready' ? { ...current, refreshing: true } : { status: 'loading' }));
    load().then(
      (value) => mine === generation.current && setLoaded({ status: 'ready', value, refreshing: false }),
      (error: unknown) =>
        mine === generation.current &&
        setLoaded({
          status: 'failed',
          error: error instanceof QueryApiError ? error : new QueryApiError('page_error', String(error), null),
        }),
    );
    // `key` names everything `load` reads: a new key is a new thing to load.
  }, [key]);
  useEffect(() => {
    run();
    const timer = setInterval(() => document.visibilityState === 'visible' && run(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [run]);
  return [loaded, run];
}
