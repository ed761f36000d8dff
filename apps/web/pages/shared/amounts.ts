/**
 * Amounts arrive as decimal strings and are shown as decimal strings: grouping the whole part in
 * thousands is string work, never arithmetic, so no credit passes through a float on its way to
 * the screen.
 */
const DECIMAL = /^(-?)(\d+)(\.\d+)?$/;

export function formatAmount(decimal: string): string {
  const match = DECIMAL.exec(decimal);
  if (!match) return decimal;
  const [, sign = '', whole = '', fraction = ''] = match;
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`;
}

/** "2026-11-29T08:05:00.000Z" → "2026-11-29 08:05 UTC": one time zone for everyone reading a ledger. */
export function formatInstant(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
