/**
 * The JSON body parser, bounded before any work: at most 256 kB (4 MiB for the batch route), nested
 * at most MAX_JSON_DEPTH deep (counted on the raw bytes before JSON.parse, so a 10,000-deep body
 * never reaches a recursive walk), and every string — keys too — clean text (text.ts). Each refusal
 * is a typed 4xx. It is the only body parser the API has (bootstrap.ts removes Fastify's own).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { reject } from '@ledger/domain';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { readBody } from './body-reader';
import { routeOf } from './request';
import { textProblem } from './text';

/** What any route reads: 256 kB, as body-parser's '256kb'. */
export const BODY_LIMIT = 256 * 1024;
/** What POST /v1/commands/batch reads: many commands in one body. */
export const BATCH_BODY_LIMIT = 4 * 1024 * 1024;
export const BATCH_ROUTE = '/v1/commands/batch';
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

/** The body limit of a route (see routeOf: the batch route's pattern, or its path while unrouted). */
export const bodyLimitOf = (route: string): number => (route === BATCH_ROUTE ? BATCH_BODY_LIMIT : BODY_LIMIT);

const UTF8 = new TextDecoder('utf-8');
const UTF16LE = new TextDecoder('utf-16le');
const UTF16BE = new TextDecoder('utf-16be');

/**
 * The charsets JSON is read in (RFC 8259's UTF-8, and UTF-16, which body-parser read too), each
 * with its WHATWG decoder: it drops a byte order mark and turns bytes that are not valid in its
 * encoding into U+FFFD, as body-parser's iconv-lite did. Plain "utf-16" is big-endian only when
 * its byte order mark says so.
 */
const DECODERS: ReadonlyMap<string, (bytes: Uint8Array) => InstanceType<typeof TextDecoder>> = new Map([
  ['utf-8', () => UTF8],
  ['utf-16le', () => UTF16LE],
  ['utf-16be', () => UTF16BE],
  ['utf-16', (bytes: Uint8Array) => (bytes[0] === 0xfe && bytes[1] === 0xff ? UTF16BE : UTF16LE)],
]);

/** The charset a Content-Type names, lower-cased; UTF-8 when it names none. */
function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return (match?.[1] ?? match?.[2] ?? 'utf-8').toLowerCase();
}

const malformed = (reason: string) =>
  new LedgerHttpError(reject('malformed_json', `the body is not valid JSON: ${reason}`));

/**
 * Why a body that is valid JSON but neither an object nor an array is refused, worded as JSON.parse
 * words it, as body-parser did: the part from the offending character on is masked, parsed, and
 * the message's mask put back.
 */
function strictViolation(text: string, first: string | undefined): string {
  const index = first === undefined ? -1 : text.indexOf(first);
  const masked = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
  try {
    JSON.parse(masked);
    return 'strict violation';
  } catch (error) {
    return (error as Error).message.replace(/#+/g, (mask) => text.slice(index, index + mask.length));
  }
}

/** JSON.parse in body-parser's strict mode: an object or an array; an empty body is `{}`. */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*([^ \t\n\r]|$)/.exec(text)?.[1] || undefined;
  if (first !== '{' && first !== '[') throw malformed(strictViolation(text, first));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw malformed((error as Error).message);
  }
}

/** Fastify's content-type parser for application/json: the charset is checked before the body is read. */
export async function parseJsonBody(request: FastifyRequest, payload: IncomingMessage): Promise<unknown> {
  const charset = charsetOf(request.headers['content-type']);
  const decoderFor = DECODERS.get(charset);
  if (!decoderFor) {
    throw new LedgerHttpError(reject('unsupported_media_type', `unsupported charset "${charset.toUpperCase()}"`));
  }
  const bytes = await readBody(payload, bodyLimitOf(routeOf(request)));
  if (jsonDepthExceeds(bytes, MAX_JSON_DEPTH)) {
    throw new LedgerHttpError(
      reject('json_too_deep', `the body nests arrays or objects more than ${MAX_JSON_DEPTH} deep`, {
        maxDepth: MAX_JSON_DEPTH,
      }),
    );
  }
  const body = parseStrict(decoderFor(bytes).decode(bytes));
  const bad = findBadText(body);
  if (bad) {
    const where = bad.field ? `${bad.field}: ` : '';
    throw new LedgerHttpError(reject('text_invalid', `${where}the text ${bad.problem}`, { field: bad.field }));
  }
  return body;
}
