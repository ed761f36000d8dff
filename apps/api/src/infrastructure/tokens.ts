/** Injection tokens for the infrastructure the API is built on. */
export const CONFIG = Symbol('LedgerConfig');
export const PG_POOL = Symbol('pg.Pool');
export const DATABASE = Symbol('Kysely<LedgerDatabase>');
export const EVENT_STORE = Symbol('EventStore');
export const API_KEYS = Symbol('ApiKeys');
