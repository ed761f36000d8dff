/**
 * The answer to "what were this account's buckets at that point?", replayed from events alone:
 * one shape (the contract's `auditBalance`), built once here, so the API's audit endpoint and
 * `ledger audit balance --json` give the same JSON for the same question.
 */
import type { AuditBalance } from '@ledger/contract';
import { bucketNames, formatCredits, shareBucketNames, type Buckets, type ShareBuckets } from '@ledger/domain';
import { formatPosition } from '@ledger/event-store';
import type { AccountReplay, AsOf } from './replay';

const creditsOf = <Name extends string>(names: readonly Name[], buckets: Record<Name, bigint>) =>
  Object.fromEntries(names.map((name) => [name, formatCredits(buckets[name])])) as Record<Name, string>;

export const bucketsText = (buckets: Buckets): AuditBalance['buckets'] => creditsOf(bucketNames, buckets);
export const shareText = (share: ShareBuckets): AuditBalance['projects'][number]['buckets'] =>
  creditsOf(shareBucketNames, share);

/**
 * The replay as the contract shows it; with `projectId`, that project's share beside the account's
 * (the caller checks first that the project is attached at that point: `replay.share`).
 */
export function auditBalanceOf(accountId: string, asOf: AsOf, replay: AccountReplay, projectId?: string): AuditBalance {
  const last = replay.last;
  const share = projectId === undefined ? undefined : replay.share(projectId);
  return {
    accountId,
    asOf: 'position' in asOf ? { position: formatPosition(asOf.position) } : { instant: asOf.instant },
    source: 'events',
    eventsReplayed: replay.events,
    lastEvent: last && {
      eventId: last.metadata.eventId,
      type: last.event.type,
      revision: last.revision.toString(),
      position: formatPosition(last.position),
      occurredAt: last.metadata.occurredAt,
    },
    buckets: bucketsText(replay.buckets()),
    projects: [...replay.projects].map(([id, buckets]) => ({ projectId: id, buckets: shareText(buckets) })),
    ...(projectId !== undefined && share && { project: { projectId, buckets: shareText(share) } }),
  };
}
