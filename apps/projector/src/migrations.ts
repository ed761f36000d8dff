/**
 * Every migration of the ledger's database in one list: the event store, the API's tables and the
 * read models. kysely's Migrator refuses to run when the database holds a migration its list lacks,
 * so every process that migrates this database (the API, the projector, the rebuild CLI, the
 * launcher) passes this same list. It is the API's `ledgerMigrations`.
 */
import type { Migration } from 'kysely';
import { ledgerMigrations } from '../../api/src/infrastructure/database';

export const allMigrations: Record<string, Migration> = ledgerMigrations;
