/** Turns an HTTP request into a decoded command, or the typed reason it cannot be one. */
import { createHash } from 'node:crypto';
import { issueCode, reject, rejectionCatalogue, type RejectionCode } from '@ledger/domain';
import type { z } from 'zod';
import { LedgerHttpError } from '../errors/ledger-http-error';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body with the path's parameters in it; a body that contradicts its path is refused. */
export function commandInput(params: Record<string, string>, body: unknown): Record<string, unknown> {
  const fields =
    body === undefined || body === null || (isPlainObject(body) && Object.keys(body).length === 0) ? {} : body;
  if (!isPlainObject(fields)) {
    throw new LedgerHttpError(reject('validation_failed', 'the request body must be a JSON object'));
  }
  for (const [name, value] of Object.entries(params)) {
    if (name in fields && fields[name] !== value) {
      throw new LedgerHttpError(
        reject('validation_failed', `"${name}" in the body (${String(fields[name])}) differs from the path (${value})`),
      );
    }
  }
  return { ...fields, ...params };
}

/** Decodes input with a command schema; the first problem becomes the answer's code. */
export function decodeInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeDecode(input as z.input<S>);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.join('.'),
    code: issueCode(issue) ?? 'validation_failed',
    message: issue.message,
  }));
  const [first] = issues;
  // zod reports at least one issue for every failure; the guard keeps an empty list a plain refusal
  if (!first) throw new LedgerHttpError(reject('validation_failed', undefined, { issues }));
  const code = (first.code in rejectionCatalogue ? first.code : 'validation_failed') as RejectionCode;
  throw new LedgerHttpError(reject(code, first.field ? `${first.field}: ${first.message}` : first.message, { issues }));
}

/** A stable digest of what was asked: same command, same fields, same hash, whatever the key order. */
export function requestHash(commandType: string, input: unknown): string {
  return createHash('sha256').update(commandType).update('\n').update(canonicalJson(input)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
