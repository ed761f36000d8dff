/**
 * The signed-in key for the live state, kept for this browser tab only (sessionStorage): closing
 * the tab signs out, and the key is never put in a URL.
 */
const STORAGE = 'credit-ledger.api-key';

export const signedInKey = (): string | undefined => sessionStorage.getItem(STORAGE) ?? undefined;
export const signIn = (key: string): void => sessionStorage.setItem(STORAGE, key);
export const signOut = (): void => sessionStorage.removeItem(STORAGE);
