import type { Principal } from '@ledger/domain';

/** Everything about a command that is not the command itself: who, when, and how to trace it. */
export interface CommandEnvelope {
  readonly principal: Principal;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
  /** The API's clock reading, the only time the domain sees. */
  readonly now: string;
}

/** The stream remembers which requests it has answered, so a retry never appends twice. */
export const idempotencyScope = (principalId: string, key: string): string => `${principalId}\u0000${key}`;
