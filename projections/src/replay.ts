/**
 * An account's history replayed in memory, for auditors: the domain's own fold (buckets, runs,
 * holds, invariants) and, beside it, what the projections make of each event — the bucket
 * movements of the `balances` projection (per account and per project) and the money movements of
 * the `usage` projection (ledger rows with the available credits after each) — by calling the
 * projections' own handler functions. No rule is written twice; nothing here does I/O.
 */
import {
  bucketsOf,
  evolve,
  initialState,
  shareBucketNames,
  zeroShareBuckets,
  type AccountState,
  type Buckets,
  type Instant,
  type ShareBuckets,
} from '@ledger/domain';
import { comparePositions, type GlobalPosition } from '@ledger/event-store';
import { balanceHandlers, type BucketDelta } from './balances';
import type { ProjectedEvent } from './projection';
import { writesOf } from './shared';
import { usageHandlers, usageRowOf, type UsageRow } from './usage';

/** A project's share of the buckets: every bucket but `available`, which only the account has. */
export type { ShareBuckets };
export const zeroShare = zeroShareBuckets;

/** What one event did: its bucket movements (account, and project if any) and its ledger rows. */
export interface EventEffect {
  readonly recorded: ProjectedEvent;
  /** The account's bucket movement, `available` included; empty when nothing moved. */
  readonly accountDelta: Partial<Buckets>;
  /** Per project the event names: its bucket movement. */
  readonly projectDeltas: ReadonlyMap<string, BucketDelta>;
  readonly ledgerRows: readonly UsageRow[];
}

/** Where a replay stops: at an instant (by the time each command was decided) or a global position. */
export type AsOf = { readonly instant: Instant } | { readonly position: GlobalPosition };

/**
 * Whether an event lies at or before the cut. Within one stream events are in order, so a replay
 * takes the stream's events up to the first one beyond the cut (a prefix: the only consistent
 * states a stream has ever been in).
 */
export function isWithin(asOf: AsOf, recorded: ProjectedEvent): boolean {
  if ('position' in asOf) return comparePositions(recorded.position, asOf.position) <= 0;
  return Date.parse(recorded.metadata.occurredAt) <= Date.parse(asOf.instant);
}

export class AccountReplay {
  /** The domain's state, folded by evolve. */
  readonly state: AccountState = initialState();
  /** Each project's share, by the balances projection's handlers. */
  readonly projects = new Map<string, ShareBuckets>();
  /** The account's buckets by the balances projection's handlers (a cross-check of the fold). */
  readonly account: Buckets = { ...zeroShare(), available: 0n };
  events = 0;
  last: ProjectedEvent | null = null;
  /** Ledger rows so far (usage projection's rules). */
  ledgerRows = 0;

  /** Folds one event (in stream order) and says what it moved. */
  apply(recorded: ProjectedEvent): EventEffect {
    evolve(this.state, recorded.event);
    const accountDelta: Partial<Buckets> = {};
    const projectDeltas = new Map<string, BucketDelta>();
    for (const write of writesOf(balanceHandlers, recorded)) {
      if (write.table !== 'balance_buckets') continue;
      if (write.projectId === '') {
        for (const name of shareBucketNames) {
          const by = write.delta[name];
          if (by === undefined || by === 0n) continue;
          accountDelta[name] = (accountDelta[name] ?? 0n) + by;
          this.account[name] += by;
        }
      } else {
        let share = this.projects.get(write.projectId);
        if (!share) this.projects.set(write.projectId, (share = zeroShare()));
        const moved: BucketDelta = { ...projectDeltas.get(write.projectId) };
        for (const name of shareBucketNames) {
          const by = write.delta[name];
          if (by === undefined || by === 0n) continue;
          share[name] += by;
          moved[name] = (moved[name] ?? 0n) + by;
        }
        projectDeltas.set(write.projectId, moved);
      }
    }
    const available =
      (accountDelta.included ?? 0n) +
      (accountDelta.bonus ?? 0n) -
      (accountDelta.reserved ?? 0n) -
      (accountDelta.consumed ?? 0n) -
      (accountDelta.expired ?? 0n);
    if (available !== 0n) accountDelta.available = available;
    this.account.available += available;

    const ledgerRows: UsageRow[] = [];
    let availableAfter = this.lastAvailable;
    for (const write of writesOf(usageHandlers, recorded)) {
      if (write.table !== 'usage_ledger') continue;
      availableAfter += write.entry.availableChange;
      ledgerRows.push(usageRowOf(recorded, write.entry, ledgerRows.length, availableAfter));
    }
    this.lastAvailable = availableAfter;
    this.ledgerRows += ledgerRows.length;
    this.events++;
    this.last = recorded;
    return { recorded, accountDelta, projectDeltas, ledgerRows };
  }

  /** The account's buckets, from the domain's fold. */
  buckets(): Buckets {
    return bucketsOf(this.state);
  }

  /** A project's share; undefined for a project the account has not attached (nor moved credits for). */
  share(projectId: string): ShareBuckets | undefined {
    const share = this.projects.get(projectId);
    return share && { ...share };
  }

  /** The usage ledger's running available, as its last row shows it. */
  private lastAvailable = 0n;
}

/** Replays events (one account's, in stream order) up to the first beyond `asOf` (all without one). */
export function replayAccount(events: Iterable<ProjectedEvent>, asOf?: AsOf): AccountReplay {
  const replay = new AccountReplay();
  for (const recorded of events) {
    if (asOf && !isWithin(asOf, recorded)) break;
    replay.apply(recorded);
  }
  return replay;
}
