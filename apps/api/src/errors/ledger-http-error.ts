import type { RejectionBody } from '@ledger/contract';
import { rejectionCatalogue, type Rejection, type RejectionCode, type RejectionKind } from '@ledger/domain';

const statusOfKind: Record<RejectionKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  too_many_requests: 429,
  unprocessable: 422,
  internal: 500,
  unavailable: 503,
};

export const httpStatusOf = (code: RejectionCode): number => statusOfKind[rejectionCatalogue[code].kind];

/** `{ code, message, details }`: the contract's rejection (libs/contract). */
export type ErrorBody = RejectionBody;

/** A ledger answer of "no", on its way to the caller as `{ code, message, details }`. */
export class LedgerHttpError extends Error {
  readonly status: number;
  readonly body: ErrorBody;

  constructor(
    rejection: Rejection,
    /** Headers the answer carries besides its body, such as Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(rejection.message);
    this.status = httpStatusOf(rejection.code);
    this.body = { code: rejection.code, message: rejection.message, details: rejection.details ?? {} };
  }
}
