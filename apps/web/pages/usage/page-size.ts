/** Rows per usage-ledger page: small enough to read, large enough that paging is rare. */
export const USAGE_PAGE_SIZE = 25;
