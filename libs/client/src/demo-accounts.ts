/** The demo workspace's accounts and its public key, which the API makes and the pages and tests name. */
export const DEMO_ACCOUNT = 'acct-demo';
export const EMPTY_DEMO_ACCOUNT = 'acct-demo-empty';
/** Public by design: it reads the two demo accounts and nothing else. */
export const DEMO_READER_KEY = 'demo-reader-key';
