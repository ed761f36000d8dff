/**
 * The JSON body parser, bounded before any work: at most 256 kB, nested at most MAX_JSON_DEPTH
 * deep (counted on the raw bytes before JSON.parse, so a 10,000-deep body never reaches a
 * recursive walk), and every string — keys too — clean text (text.ts). Each refusal is a typed 4xx.
 */
import type { RequestHandler } from 'express';
import { reject } from '@ledger/domain';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { textProblem } from './text';

export const BODY_LIMIT = '256kb';
/** The error type a too-deep body is refused with (see the error filter). */
export const JSON_TOO_DEEP = 'entity.too.deep';
/** Commands nest three levels at most (a plan's rate card); 32 leaves room and bounds every walk. */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** How deep the raw JSON nests, by one scan that skips strings; stops counting past `limit`. */
export function jsonDepthExceeds(raw: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The first string in a parsed body that is not clean text, with where it is. */
export function findBadText(value: unknown, path = ''): { field: string; problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { field: path, problem } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadText(value[i], path ? `${path}.${i}` : String(i));
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    if (keyProblem) return { field: path || '(a key)', problem: `a key ${keyProblem}` };
    const found = findBadText(inner, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

/** body-parser's options (through Nest's useBodyParser): the depth is checked on the bytes, before JSON.parse. */
export const jsonBodyOptions = {
  limit: BODY_LIMIT,
  strict: true,
  verify: (_request: unknown, _response: unknown, raw: Buffer) => {
    if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) {
      // body-parser re-wraps what verify throws (and overwrites its `body`), so the refusal travels
      // as a tagged error that the error filter turns back into json_too_deep.
      throw Object.assign(new Error(`the body nests arrays or objects more than ${MAX_JSON_DEPTH} deep`), {
        status: 400,
        type: JSON_TOO_DEEP,
      });
    }
  },
};

/** After the parser: every string of the body, keys too, must be clean text. */
export const cleanBodyText: RequestHandler = (request, _response, next) => {
  const bad = findBadText(request.body as unknown);
  if (!bad) return next();
  const where = bad.field ? `${bad.field}: ` : '';
  next(new LedgerHttpError(reject('text_invalid', `${where}the text ${bad.problem}`, { field: bad.field })));
};
