/**
 * The field kinds every command and event is built from, as zod codecs: the wire side is JSON
 * (decimal strings for money), the domain side is exact (bigint). Commands decode a caller's JSON
 * with them and get typed problems for bad amounts; events decode stored JSON and encode it back.
 */
import { z } from 'zod';
import { CREDIT_DECIMALS, formatCredits, formatFen, parseCredits, parseFen, type Parsed } from './money';

/** An ISO-8601 instant, normalised to UTC milliseconds, so instants compare as strings. */
export type Instant = string;

export const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'ids are 1–128 letters, digits, ".", "_", ":" or "-"');

export const label = z.string().trim().min(1).max(200);

const isoOrEmpty = (text: string): string => {
  const time = Date.parse(text);
  return Number.isNaN(time) ? '' : new Date(time).toISOString();
};

/**
 * A codec rather than a transform, so that events and commands holding instants can be encoded
 * back to JSON (zod refuses to encode through a one-way `.transform`).
 */
export const instant = z.codec(
  // Four-digit years only: normalised instants then compare correctly as strings.
  z.string().refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && /^\d{4}-/.test(isoOrEmpty(text)), {
    message: 'expected an ISO-8601 instant such as 2026-11-01T00:00:00Z',
  }),
  z.string(),
  {
    decode: (text): Instant => new Date(text).toISOString(),
    encode: (value: Instant) => value,
  },
);

function amount<T extends bigint>(parse: (value: unknown) => Parsed<T>, description: string, pattern: string) {
  return z
    .codec(z.unknown(), z.bigint(), {
      decode: (value, ctx) => {
        const parsed = parse(value);
        if (parsed.ok) return parsed.value;
        ctx.issues.push({ code: 'custom', message: parsed.message, input: value, params: { code: parsed.problem } });
        return z.NEVER;
      },
      encode: (value) => (pattern.includes('.') ? formatCredits(value) : formatFen(value)),
    })
    .meta({ type: 'string', pattern, description });
}

const CREDIT_PATTERN = `^\\d+(\\.\\d{1,${CREDIT_DECIMALS}})?$`;

/** Credits as a decimal string ("24", "0.35"), greater than zero. */
export const credits = amount((v) => parseCredits(v), 'credits, a decimal string greater than zero', CREDIT_PATTERN);
/** Credits as a decimal string, zero allowed. */
export const creditsOrZero = amount(
  (v) => parseCredits(v, { positive: false }),
  'credits, a decimal string, zero or more',
  CREDIT_PATTERN,
);
/** CNY fen as a whole-number string ("10000" is 100 CNY). */
export const fen = amount(parseFen, 'CNY fen, a whole-number string', '^\\d+$');

/** Finds the ledger's own problem code that a field attached to a zod issue, if any. */
export function issueCode(issue: z.core.$ZodIssue): string | undefined {
  const params = (issue as { params?: { code?: unknown } }).params;
  return typeof params?.code === 'string' ? params.code : undefined;
}
