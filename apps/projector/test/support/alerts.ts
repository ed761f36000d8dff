/**
 * Alerts for the webhook tests, appended straight to the event store the way the ledger would
 * append them: an AlertRuleDefined, then AlertFired events (evolve needs the rule first). Once the
 * alert-rule commands land, the API-driven test sends DefineAlertRule instead.
 */
import { randomUUID } from 'node:crypto';
import { event, type AlertKind, type LedgerEvent } from '@ledger/domain';
import { accountStreamId, toEventToAppend, type EventStore } from '@ledger/event-store';

function appended(data: LedgerEvent, occurredAt: Date) {
  const commandId = randomUUID();
  return toEventToAppend(data, randomUUID(), {
    commandId,
    commandType: 'RecordTime',
    idempotencyKey: `alert-${commandId}`,
    requestHash: 'sha256:test',
    correlationId: commandId,
    causationId: commandId,
    principal: 'svc-test',
    occurredAt: occurredAt.toISOString(),
  });
}

export async function openAccount(store: EventStore, accountId: string): Promise<void> {
  await store.append(
    accountStreamId(accountId),
    [appended(event('BillingAccountOpened', { accountId, name: accountId }), new Date())],
    'no_stream',
  );
}

export async function defineRule(
  store: EventStore,
  accountId: string,
  ruleId: string,
  kind: AlertKind = 'available_below',
  threshold: string | null = '50',
): Promise<void> {
  await store.append(
    accountStreamId(accountId),
    [appended(event('AlertRuleDefined', { accountId, ruleId, kind, threshold }), new Date())],
    'any',
  );
}

/** Appends an AlertFired (and, when it was firing, the AlertCleared before it); resolves to its event id. */
export async function fireAlert(
  store: EventStore,
  accountId: string,
  ruleId: string,
  { observed = '42', clearFirst = false }: { observed?: string; clearFirst?: boolean } = {},
): Promise<string> {
  const kind = 'available_below' as const;
  const fired = appended(
    event('AlertFired', { accountId, ruleId, kind, threshold: '50', observed, subject: null }),
    new Date(),
  );
  const events = [
    ...(clearFirst ? [appended(event('AlertCleared', { accountId, ruleId, kind }), new Date())] : []),
    fired,
  ];
  await store.append(accountStreamId(accountId), events, 'any');
  return fired.metadata.eventId;
}
