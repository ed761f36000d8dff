/**
 * An alert rule's parameter, per kind: read from the caller's text into its exact form and back
 * into one canonical text, so that a rule is stored, compared and shown one way. The command
 * schema refuses a bad threshold with a typed problem; the deciders work on the parsed form.
 */
import type { AlertKind } from './commands';
import { formatCredits, parseCredits, type AmountProblem, type Credits } from './money';

/** The most decimal places a share may carry: a share is a ratio, not an amount. */
export const MAX_SHARE_DIGITS = 6;
export const MAX_EXPIRY_WINDOW_DAYS = 365;

/** A share strictly between 0 and 1, as numerator / 10^digits. */
export interface Share {
  readonly numerator: bigint;
  readonly scale: bigint;
}

export type ParsedThreshold =
  | { readonly kind: 'available_below'; readonly credits: Credits }
  | { readonly kind: 'available_below_share'; readonly share: Share }
  | { readonly kind: 'credits_expiring'; readonly days: number }
  | { readonly kind: 'settlement_threshold_reached' | 'commercial_exception' | 'account_suspended' };

export type ThresholdReading =
  | { ok: true; threshold: ParsedThreshold; text: string | null }
  | { ok: false; problem: AmountProblem | 'alert_threshold_invalid'; message: string };

const invalid = (message: string): ThresholdReading => ({ ok: false, problem: 'alert_threshold_invalid', message });

const SHARE = new RegExp(`^0\\.(\\d{1,${MAX_SHARE_DIGITS}})$`);
const DAYS = /^\d{1,3}$/;

/** Reads `text` as the threshold of `kind`; `undefined` is a threshold left out. */
export function readThreshold(kind: AlertKind, text: string | undefined): ThresholdReading {
  switch (kind) {
    case 'available_below': {
      if (text === undefined) return invalid('available_below needs a threshold in credits, such as "50"');
      const parsed = parseCredits(text);
      if (!parsed.ok) return parsed;
      return { ok: true, threshold: { kind, credits: parsed.value }, text: formatCredits(parsed.value) };
    }
    case 'available_below_share': {
      const digits = text === undefined ? undefined : SHARE.exec(text)?.[1];
      const significant = digits?.replace(/0+$/, '') ?? '';
      if (digits === undefined || significant === '') {
        return invalid(
          `available_below_share needs a share strictly between 0 and 1 with at most ${MAX_SHARE_DIGITS} ` +
            `decimal places, such as "0.2"`,
        );
      }
      const share = { numerator: BigInt(significant), scale: 10n ** BigInt(significant.length) };
      return { ok: true, threshold: { kind, share }, text: `0.${significant}` };
    }
    case 'credits_expiring': {
      const days = text !== undefined && DAYS.test(text) ? Number(text) : 0;
      if (days < 1 || days > MAX_EXPIRY_WINDOW_DAYS) {
        return invalid(
          `credits_expiring needs a whole number of days from 1 to ${MAX_EXPIRY_WINDOW_DAYS}, such as "7"`,
        );
      }
      return { ok: true, threshold: { kind, days }, text: String(days) };
    }
    default:
      if (text !== undefined) return invalid(`${kind} takes no threshold`);
      return { ok: true, threshold: { kind }, text: null };
  }
}

/** A stored rule's threshold, which was read when the rule was defined. */
export function storedThreshold(kind: AlertKind, text: string | null): ParsedThreshold {
  const reading = readThreshold(kind, text ?? undefined);
  if (!reading.ok) throw new Error(`corrupt stored alert threshold for ${kind}: ${reading.message}`);
  return reading.threshold;
}
