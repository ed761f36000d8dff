/** `ledger audit history`: the account's timeline, event by event, from its stream. */
import { eventSchemaVersions, formatCredits, type EventType } from '@ledger/domain';
import { formatPosition } from '@ledger/event-store';
import { replayAccountStream, type EventEffect } from '@ledger/projections';
import { parseArgs } from 'node:util';
import { checkId, parseInstant, requireAccount } from './args';
import type { AuditConnection } from './connection';
import { bucketsInline, movementInline } from './format';
import { CliError, escapeControls, EXIT_OK, line, type CliIo } from './io';

export const historyHelp = `ledger audit history --account <id> [--project <id>] [--from <time>] [--to <time>]

A human-readable timeline of the account's events: for each, when it was decided, its revision and
global position, what it moved, the balances after it, and who caused it (principal, command id and
type, idempotency key, correlation and causation ids). Balances come from replaying the whole
stream, whatever the window.

  --account <id>      the billing account
  --project <id>      only the events that name this project; balances are its share
  --from <time>       only events decided at or after this ISO-8601 instant
  --to <time>         only events decided before this ISO-8601 instant
`;

/** A short account of what the event says, from its data (the ids and amounts that matter). */
function summary({ recorded }: EventEffect): string {
  const data = recorded.event.data as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ['runId', 'projectId', 'grantId', 'holdId', 'provider', 'source', 'outcome', 'reason', 'action']) {
    const value = data[key];
    // escapeControls also catches a line break that would forge a line of the timeline.
    if (typeof value === 'string') parts.push(`${key.replace(/Id$/, '')} ${escapeControls(value)}`);
  }
  for (const key of ['amount', 'estimatedCost', 'actualCost']) {
    const value = data[key];
    if (typeof value === 'bigint') parts.push(`${key} ${formatCredits(value)}`);
  }
  if (recorded.event.type === 'RunAccepted') parts.push(`band ${recorded.event.data.capabilityBand}`);
  return parts.join(' · ');
}

export async function auditHistory(argv: string[], io: CliIo, open: () => Promise<AuditConnection>): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      account: { type: 'string' },
      project: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
    strict: true,
  });
  const accountId = requireAccount(values.account, 'audit history');
  const projectId = values.project === undefined ? undefined : checkId(values.project, '--project');
  const from = values.from === undefined ? undefined : Date.parse(parseInstant(values.from, '--from'));
  const to = values.to === undefined ? undefined : Date.parse(parseInstant(values.to, '--to'));
  const connection = await open();
  let shown = 0;
  try {
    const { replay: whole, exists } = await replayAccountStream(connection.store, accountId, {
      onEvent: (effect, replay) => {
        const { recorded } = effect;
        const time = Date.parse(recorded.metadata.occurredAt);
        if ((from !== undefined && time < from) || (to !== undefined && time >= to)) return;
        const data = recorded.event.data as { projectId?: unknown };
        if (projectId !== undefined && data.projectId !== projectId) return;
        shown++;
        const meta = recorded.metadata;
        const stored = meta.schemaVersion ?? 1;
        const current = eventSchemaVersions[recorded.event.type as EventType];
        line(
          io,
          `${meta.occurredAt}  #${recorded.revision}  ${formatPosition(recorded.position)}  ${recorded.event.type}` +
            `${stored < current ? ` (stored v${stored}, read as v${current})` : ''}`,
        );
        const what = summary(effect);
        if (what) line(io, `    what    ${what}`);
        const moved =
          projectId === undefined
            ? movementInline(effect.accountDelta)
            : movementInline(effect.projectDeltas.get(projectId) ?? {});
        if (moved) line(io, `    moved   ${moved}`);
        if (projectId === undefined) {
          line(io, `    after   ${bucketsInline(replay.buckets())}`);
        } else {
          const share = replay.share(projectId);
          if (share)
            line(
              io,
              `    after   ${bucketsInline(share)} (account available ${formatCredits(replay.buckets().available)})`,
            );
        }
        for (const row of effect.ledgerRows) {
          line(
            io,
            `    ledger  ${row.entry_index}: ${row.kind} ${formatCredits(row.amount)} → available ${formatCredits(row.available_after)}`,
          );
        }
        line(
          io,
          escapeControls(
            `    by      ${meta.principal} · ${meta.commandType} ${meta.commandId} · key ${meta.idempotencyKey}` +
              ` · correlation ${meta.correlationId} · causation ${meta.causationId} · event ${meta.eventId}`,
          ),
        );
      },
    });
    if (!exists) throw new CliError(`there is no billing account "${accountId}" (its stream has no events)`);
    line(io, `${shown} of ${whole.events} event(s) shown; now: ${bucketsInline(whole.buckets())}`);
    return EXIT_OK;
  } finally {
    await connection.close();
  }
}
