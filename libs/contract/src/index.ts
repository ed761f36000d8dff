/**
 * The API's contract: a zod schema of every answer it gives, and the vocabulary they are made of.
 * The API's handlers return these shapes, the OpenAPI document describes them, the end-to-end tests
 * parse every answer with them, the pages take their types from them and the CLI prints them —
 * each shape written once, here. Pure: zod and the domain's vocabulary, nothing else.
 */
export * from './vocabulary';
export * from './buckets';
export * from './commands';
export * from './command-batch';
export * from './rejection';
export * from './reads';
export { usageCsv } from './csv';
export * from './queries';
// alerts (issue #17)
export * from './alerts';
export * from './webhooks';
