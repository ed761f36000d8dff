/** Injection tokens for the infrastructure the API is built on. */
export const CONFIG = Symbol('LedgerConfig');
export const PG_POOL = Symbol('pg.Pool');
export const DATABASE = Symbol('Kysely<LedgerDatabase>');
/** The same database through a pool whose commits do not wait for the disk. */
export const ANSWERS_DATABASE = Symbol('Kysely<LedgerDatabase> (asynchronous commit)');
export const EVENT_STORE = Symbol('EventStore');
export const API_KEYS = Symbol('ApiKeys');
export const DEMO_WORKSPACE = Symbol('DemoWorkspace');
