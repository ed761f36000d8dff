/**
 * Money in the ledger. Credits are counted in a fixed minor unit (1 credit = 10^4 units) and CNY in
 * fen; both are bigint everywhere inside the code and decimal strings on every wire.
 */

export type Credits = bigint;
export type Fen = bigint;

export const CREDIT_DECIMALS = 4;
export const CREDIT_SCALE = 10n ** BigInt(CREDIT_DECIMALS);

/** The largest amount one command may move: 10^12 credits. */
export const MAX_CREDITS_PER_MOVE: Credits = 10n ** 12n * CREDIT_SCALE;
/** The largest total an account may ever be granted, so every bucket fits a Postgres bigint. */
export const MAX_ACCOUNT_CREDITS: Credits = 10n ** 14n * CREDIT_SCALE;
/** The largest CNY figure a plan may state: 10^12 yuan. */
export const MAX_FEN: Fen = 10n ** 14n;

export type AmountProblem =
  | 'amount_invalid'
  | 'amount_too_precise'
  | 'amount_negative'
  | 'amount_not_positive'
  | 'amount_too_large';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: AmountProblem; message: string };

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * The longest amount text looked at. The largest amount with every decimal place is ~22
 * characters; the cap keeps a hostile "0.000…1" of 100 kB from costing the parser anything.
 */
export const MAX_AMOUNT_LENGTH = 64;

/** The fraction without its trailing zeros, by one backward scan (a /0+$/ regex is quadratic). */
function withoutTrailingZeros(fraction: string): string {
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48 /* '0' */) end--;
  return fraction.slice(0, end);
}

function parseScaled(text: unknown, decimals: number, unit: string, max: bigint, positive: boolean): Parsed<bigint> {
  if (typeof text !== 'string') {
    return {
      ok: false,
      problem: 'amount_invalid',
      message: `${unit} amounts are decimal strings, such as "24" or "0.35"`,
    };
  }
  if (text.length > MAX_AMOUNT_LENGTH) {
    return {
      ok: false,
      problem: 'amount_invalid',
      message: `${unit} amounts are at most ${MAX_AMOUNT_LENGTH} characters long; got ${text.length}`,
    };
  }
  const match = DECIMAL.exec(text);
  if (!match) {
    return { ok: false, problem: 'amount_invalid', message: `"${text}" is not a decimal number` };
  }
  const [, sign, whole = '0', fraction = ''] = match;
  const significant = withoutTrailingZeros(fraction);
  if (significant.length > decimals) {
    return {
      ok: false,
      problem: 'amount_too_precise',
      message: `${unit} amounts carry at most ${decimals} decimal places; "${text}" has more`,
    };
  }
  const magnitude = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(significant.padEnd(decimals, '0') || '0');
  if (sign === '-' && magnitude !== 0n) {
    return { ok: false, problem: 'amount_negative', message: `${unit} amounts cannot be negative; got "${text}"` };
  }
  if (positive && magnitude === 0n) {
    return { ok: false, problem: 'amount_not_positive', message: `the ${unit} amount must be greater than zero` };
  }
  if (magnitude > max) {
    return { ok: false, problem: 'amount_too_large', message: `"${text}" is larger than the ledger accepts` };
  }
  return { ok: true, value: magnitude };
}

function formatScaled(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = magnitude / scale;
  const fraction = withoutTrailingZeros((magnitude % scale).toString().padStart(decimals, '0'));
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Parses a caller's credit amount ("24", "0.35") into minor units. */
export function parseCredits(text: unknown, { positive = true } = {}): Parsed<Credits> {
  return parseScaled(text, CREDIT_DECIMALS, 'credit', MAX_CREDITS_PER_MOVE, positive);
}

/** Formats minor units as the shortest exact decimal string of credits. */
export function formatCredits(value: Credits): string {
  return formatScaled(value, CREDIT_DECIMALS);
}

/** Parses a whole number of fen ("10000" = 100 CNY). */
export function parseFen(text: unknown): Parsed<Fen> {
  return parseScaled(text, 0, 'fen', MAX_FEN, false);
}

export function formatFen(value: Fen): string {
  return formatScaled(value, 0);
}

/**
 * What `amount` credits are worth at a price per whole credit, in whole fen, rounded down: CNY is
 * whole fen everywhere, and a value that decides a payout (the held value against the settlement
 * threshold) must never be overstated. Every fen figure the ledger derives from credits uses it.
 */
export function creditValueInFen(amount: Credits, pricePerCreditFen: Fen): Fen {
  return (amount * pricePerCreditFen) / CREDIT_SCALE;
}

/** The same whole-fen value in yuan ("9903" fen → "99.03"). */
export function creditValueInYuan(amount: Credits, pricePerCreditFen: Fen): string {
  return formatYuan(creditValueInFen(amount, pricePerCreditFen));
}

/** Formats fen as yuan ("10000" → "100"), exactly. */
export function formatYuan(fen: Fen): string {
  return formatScaled(fen, 2);
}

/** Strict decoding of a stored, already-validated credit string (event payloads, read models). */
export function creditsFromStored(text: string): Credits {
  const parsed = parseScaled(text, CREDIT_DECIMALS, 'credit', MAX_ACCOUNT_CREDITS, false);
  if (!parsed.ok) throw new Error(`corrupt stored credit amount: ${parsed.message}`);
  return parsed.value;
}

export function fenFromStored(text: string): Fen {
  const parsed = parseFen(text);
  if (!parsed.ok) throw new Error(`corrupt stored fen amount: ${parsed.message}`);
  return parsed.value;
}

export const sumCredits = (values: Iterable<Credits>): Credits => {
  let total = 0n;
  for (const value of values) total += value;
  return total;
};

export const minCredits = (a: Credits, b: Credits): Credits => (a < b ? a : b);
