/**
 * `POST /v1/commands/batch`: many commands in one request, each with its own idempotency key and
 * its own answer. The request is checked in two steps, so that one malformed command is refused on
 * its own: the envelope (a list of at most MAX_BATCH_COMMANDS), then each command.
 */
import { commandTypes } from '@ledger/domain';
import { z } from 'zod';
import { receipt } from './commands';
import { rejection } from './rejection';
import { jsonObject } from './vocabulary';

/** Commands one batch request may carry. */
export const MAX_BATCH_COMMANDS = 1000;

/** Idempotency keys, as header or field: 1–255 printable ASCII characters. */
export const idempotencyKeyText = /^[\x21-\x7e]{1,255}$/;
/**
 * Correlation and causation ids land in events, CSV exports and terminals: printable ASCII, at
 * most 128, starting with a letter or digit (so no cell of an export can start a formula).
 */
export const traceIdText = /^[A-Za-z0-9][\x21-\x7e]{0,127}$/;

export const commandBatchRequest = z.strictObject({
  commands: z.array(z.unknown()).min(1).max(MAX_BATCH_COMMANDS),
});

/** One command of a batch: what its own route would take as path, body and headers. */
export const batchCommand = z.strictObject({
  type: z.enum(commandTypes),
  /** The route's path parameters (accountId, runId, holdId), as strings. */
  params: z.record(z.string(), z.string()).default({}),
  body: jsonObject.default({}),
  idempotencyKey: z.string().regex(idempotencyKeyText, 'idempotencyKey is 1–255 printable ASCII characters'),
  correlationId: z.string().regex(traceIdText, 'correlationId is 1–128 printable ASCII characters').optional(),
  causationId: z.string().regex(traceIdText, 'causationId is 1–128 printable ASCII characters').optional(),
});

/** Each command's answer, in request order: its HTTP status, and the receipt or the rejection. */
export const commandBatchAnswer = z.strictObject({
  results: z.array(
    z.union([
      z.strictObject({ status: z.literal(200), body: receipt }),
      z.strictObject({ status: z.number().int().min(400).max(599), body: rejection }),
    ]),
  ),
});

export type CommandBatchRequest = z.output<typeof commandBatchRequest>;
export type BatchCommand = z.output<typeof batchCommand>;
export type CommandBatchAnswer = z.output<typeof commandBatchAnswer>;
