/**
 * The `grants` projection: every credit grant with its validity window and where its credits are
 * now (credit_grants) — free, reserved, consumed, expired — moved by the grant draws each event
 * names. It is what the grant scheduler reads to find the accounts where something falls due (a
 * scheduled grant whose window began, free credits whose grant lapsed), and what an auditor reads
 * to see a grant's credits add up: amount = free + reserved + consumed + expired once in effect.
 */
import type { GrantDraw } from '@ledger/domain';
import type { Selectable } from 'kysely';
import type { Projection, ProjectedEvent } from './projection';
import type { CreditGrantsTable } from './read-models';
import {
  applyPatches,
  occurredAt,
  writesOf,
  writtenBy,
  type Handlers,
  type LatestStateTable,
  type RowPatch,
} from './shared';

/** What the projection writes: has_free is Postgres's to compute. */
type GrantRow = Omit<Selectable<CreditGrantsTable>, 'has_free'>;
export type GrantWrite = RowPatch<GrantRow>;
type Counters = 'free' | 'reserved' | 'consumed' | 'expired';

/** One counter change per grant a draw names. */
const drawn = (
  at: ProjectedEvent,
  accountId: string,
  draws: readonly GrantDraw[],
  move: (amount: bigint) => Partial<Record<Counters, bigint>>,
): GrantWrite[] => draws.map(({ grantId, amount }) => ({ id: [accountId, grantId], add: move(amount), at }));

export const grantHandlers: Handlers<GrantWrite> = {
  CreditsGranted: ({ accountId, grantId, source, projectId, amount, effectiveAt, expiresAt }, at) => [
    {
      id: [accountId, grantId],
      create: {
        account_id: accountId,
        grant_id: grantId,
        source,
        project_id: projectId,
        amount,
        status: effectiveAt === null ? 'effective' : 'scheduled',
        granted_at: occurredAt(at),
        effective_at: effectiveAt === null ? occurredAt(at) : new Date(effectiveAt),
        expires_at: expiresAt === null ? null : new Date(expiresAt),
        free: effectiveAt === null ? amount : 0n,
        reserved: 0n,
        consumed: 0n,
        expired: 0n,
        ...writtenBy(at),
      },
      at,
    },
  ],
  CreditsBecameEffective: ({ accountId, grantId, amount }, at) => [
    { id: [accountId, grantId], set: { status: 'effective' }, add: { free: amount }, at },
  ],
  CreditsReserved: ({ accountId, draws }, at) =>
    drawn(at, accountId, draws, (amount) => ({ free: -amount, reserved: amount })),
  ReservationReleased: ({ accountId, draws }, at) =>
    drawn(at, accountId, draws, (amount) => ({ free: amount, reserved: -amount })),
  CreditsConsumed: ({ accountId, reservationDraws, overrunDraws }, at) => [
    ...drawn(at, accountId, reservationDraws, (amount) => ({ reserved: -amount, consumed: amount })),
    ...drawn(at, accountId, overrunDraws, (amount) => ({ free: -amount, consumed: amount })),
  ],
  CreditsExpired: ({ accountId, grantId, amount }, at) => [
    { id: [accountId, grantId], add: { free: -amount, expired: amount }, at },
  ],
};

const grantsTable: LatestStateTable<GrantRow> = {
  name: 'credit_grants',
  key: ['account_id', 'grant_id'],
  generated: ['has_free'],
};

export const grantsProjection: Projection = {
  name: 'grants',
  tables: ['credit_grants'],
  async applyBatch(events, db, memory) {
    const patches = events.flatMap((recorded) => writesOf(grantHandlers, recorded));
    await applyPatches(db, grantsTable, patches, memory);
  },
};
