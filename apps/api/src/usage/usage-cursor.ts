/** Usage-ledger pages continue after the last row shown; the cursor names it, opaquely. */
export interface UsageCursor {
  readonly commit: bigint;
  readonly prepare: bigint;
  readonly entry: number;
}

export const encodeCursor = (c: UsageCursor): string =>
  Buffer.from(`${c.commit}/${c.prepare}/${c.entry}`).toString('base64url');

/** Postgres's bigint: a cursor past it would reach the query as an out-of-range number. */
const INT64_MAX = 2n ** 63n - 1n;

export function decodeCursor(text: string): UsageCursor | undefined {
  if (text.length > 100) return undefined;
  const [, commit, prepare, entry] =
    /^(\d{1,19})\/(\d{1,19})\/(\d{1,6})$/.exec(Buffer.from(text, 'base64url').toString()) ?? [];
  if (commit === undefined || prepare === undefined || entry === undefined) return undefined;
  const cursor = { commit: BigInt(commit), prepare: BigInt(prepare), entry: Number(entry) };
  return cursor.commit <= INT64_MAX && cursor.prepare <= INT64_MAX ? cursor : undefined;
}
