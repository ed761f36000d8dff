/** Usage-ledger pages continue after the last row shown; the cursor names it, opaquely. */
export interface UsageCursor {
  readonly commit: bigint;
  readonly prepare: bigint;
  readonly entry: number;
}

export const encodeCursor = (c: UsageCursor): string =>
  Buffer.from(`${c.commit}/${c.prepare}/${c.entry}`).toString('base64url');

export function decodeCursor(text: string): UsageCursor | undefined {
  const match = /^(\d{1,20})\/(\d{1,20})\/(\d{1,6})$/.exec(Buffer.from(text, 'base64url').toString());
  return match ? { commit: BigInt(match[1]), prepare: BigInt(match[2]), entry: Number(match[3]) } : undefined;
}
