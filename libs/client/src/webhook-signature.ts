/**
 * The `Ledger-Signature` header of a webhook delivery, for both sides: the ledger signs, a receiver
 * verifies. `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, the scheme Stripe
 * uses: the timestamp is signed with the body, so a captured delivery cannot be replayed outside
 * the tolerance window. While a secret is being rotated the header carries one v1 per secret, and
 * a receiver may hold several secrets: any v1 made with any of them verifies.
 *
 * Every header is hostile until verified: it is refused past MAX_SIGNATURE_HEADER_LENGTH before
 * any parsing, parsed in one linear pass, and signatures are compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Ledger-Signature';
/** How far a delivery's timestamp may lie from the receiver's clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Longer than any header the ledger sends (a timestamp and a few v1 values). */
export const MAX_SIGNATURE_HEADER_LENGTH = 1024;
/** At most this many v1 values are looked at: a rotation needs two. */
export const MAX_SIGNATURES = 8;

const TIMESTAMP = /^\d{1,12}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export type SignatureProblem =
  | 'header_missing'
  | 'header_malformed'
  | 'timestamp_outside_tolerance'
  | 'signature_mismatch';

export type SignatureCheck =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly problem: SignatureProblem };

const bytesOf = (body: string | Uint8Array): Buffer =>
  typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);

/** The hex HMAC-SHA256 of `"<t>.<raw body>"` under one secret. */
export function webhookSignature(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(bytesOf(body)).digest('hex');
}

/** The header value for a body sent at `now`, with one v1 per secret (several while rotating). */
export function signWebhook(body: string | Uint8Array, secrets: string | readonly string[], now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  if (all.length === 0) throw new Error('a webhook is signed with at least one secret');
  return [`t=${timestamp}`, ...all.map((secret) => `v1=${webhookSignature(secret, timestamp, body)}`)].join(',');
}

/** The header's timestamp and v1 values, or null when it is not a well-formed header. */
export function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | null {
  if (header.length === 0 || header.length > MAX_SIGNATURE_HEADER_LENGTH) return null;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals <= 0) return null;
    const name = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (name === 't') {
      if (timestamp !== undefined || !TIMESTAMP.test(value)) return null;
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!HEX_SHA256.test(value)) return null;
      if (signatures.length < MAX_SIGNATURES) signatures.push(value);
    }
    // Other schemes (a future v2) are skipped, so that a receiver keeps verifying v1 alone.
  }
  return timestamp === undefined || signatures.length === 0 ? null : { timestamp, signatures };
}

/**
 * Whether `header` signs exactly this raw body (the bytes as received, before any JSON parsing)
 * with one of `secrets`, at a time within `toleranceSeconds` of `now`.
 */
export function verifyWebhook({
  body,
  header,
  secrets,
  now,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
}: {
  readonly body: string | Uint8Array;
  readonly header: string | null | undefined;
  readonly secrets: string | readonly string[];
  readonly now: Date;
  readonly toleranceSeconds?: number;
}): SignatureCheck {
  if (header === null || header === undefined || header === '') return { ok: false, problem: 'header_missing' };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, problem: 'header_malformed' };
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) {
    return { ok: false, problem: 'timestamp_outside_tolerance' };
  }
  const given = parsed.signatures.map((hex) => Buffer.from(hex, 'hex'));
  let matched = false;
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = Buffer.from(webhookSignature(secret, parsed.timestamp, body), 'hex');
    // Every pair is compared, so the time taken says nothing about which one matched.
    for (const signature of given) matched = timingSafeEqual(signature, expected) || matched;
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, problem: 'signature_mismatch' };
}
