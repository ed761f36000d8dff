/**
 * The `alerts` projection: every alert rule an account has defined, with whether it is firing now
 * and its firing history in figures (alert_rules, latest state), and one row per firing and per
 * clearing (alert_firings, append-only). A firing row names the command that appended it, which
 * is the command whose money movement crossed the threshold: the usage ledger's "fired an alert"
 * filter joins on it.
 */
import { isConditionKind } from '@ledger/domain';
import type { Selectable } from 'kysely';
import type { Projection, ProjectedEvent } from './projection';
import type { AlertFiringsTable, AlertRulesTable } from './read-models';
import {
  applyPatches,
  insertRows,
  occurredAt,
  writesOf,
  writtenBy,
  type RowColumns,
  type Handlers,
  type LatestStateTable,
  type RowPatch,
} from './shared';

type RuleRow = Selectable<AlertRulesTable>;
type FiringRow = Selectable<AlertFiringsTable>;

export type AlertWrite =
  | ({ readonly table: 'alert_rules' } & RowPatch<RuleRow>)
  | { readonly table: 'alert_firings'; readonly row: FiringRow };

function firing(
  at: ProjectedEvent,
  data: { accountId: string; ruleId: string; kind: FiringRow['kind'] },
  status: FiringRow['status'],
  details: Pick<FiringRow, 'threshold' | 'observed' | 'subject'>,
): AlertWrite {
  return {
    table: 'alert_firings',
    row: {
      event_id: at.metadata.eventId,
      account_id: data.accountId,
      rule_id: data.ruleId,
      kind: data.kind,
      status,
      ...details,
      occurred_at: occurredAt(at),
      command_id: at.metadata.commandId,
      stream_revision: at.revision,
      ...writtenBy(at),
    },
  };
}

export const alertHandlers: Handlers<AlertWrite> = {
  AlertRuleDefined: ({ accountId, ruleId, kind, threshold }, at) => [
    {
      table: 'alert_rules',
      id: [accountId, ruleId],
      // A rule defined again after its removal starts afresh.
      create: {
        account_id: accountId,
        rule_id: ruleId,
        kind,
        threshold,
        status: 'active',
        firing: false,
        defined_at: occurredAt(at),
        removed_at: null,
        fired_count: 0n,
        last_fired_at: null,
        last_cleared_at: null,
        last_observed: null,
        last_subject: null,
        ...writtenBy(at),
      },
      at,
    },
  ],
  AlertRuleRemoved: ({ accountId, ruleId }, at) => [
    {
      table: 'alert_rules',
      id: [accountId, ruleId],
      set: { status: 'removed', firing: false, removed_at: occurredAt(at) },
      at,
    },
  ],
  AlertFired: (data, at) => [
    {
      table: 'alert_rules',
      id: [data.accountId, data.ruleId],
      set: {
        firing: isConditionKind(data.kind),
        last_fired_at: occurredAt(at),
        last_observed: data.observed,
        last_subject: data.subject,
      },
      add: { fired_count: 1n },
      at,
    },
    firing(at, data, 'fired', { threshold: data.threshold, observed: data.observed, subject: data.subject }),
  ],
  AlertCleared: (data, at) => [
    {
      table: 'alert_rules',
      id: [data.accountId, data.ruleId],
      set: { firing: false, last_cleared_at: occurredAt(at) },
      at,
    },
    firing(at, data, 'cleared', { threshold: null, observed: null, subject: null }),
  ],
};

const FIRING_COLUMNS: RowColumns<FiringRow> = {
  event_id: true,
  account_id: true,
  rule_id: true,
  kind: true,
  status: true,
  threshold: true,
  observed: true,
  subject: true,
  occurred_at: true,
  command_id: true,
  stream_revision: true,
  position_commit: true,
  position_prepare: true,
};

const rulesTable: LatestStateTable<RuleRow> = { name: 'alert_rules', key: ['account_id', 'rule_id'] };

export const alertsProjection: Projection = {
  name: 'alerts',
  tables: ['alert_rules', 'alert_firings'],
  queryOnlyIndexes: ['alert_firings_account_recent', 'alert_firings_account_command'],
  async applyBatch(events, db, memory) {
    const rules: RowPatch<RuleRow>[] = [];
    const firings: FiringRow[] = [];
    for (const recorded of events) {
      for (const write of writesOf(alertHandlers, recorded)) {
        if (write.table === 'alert_rules') rules.push(write);
        else firings.push(write.row);
      }
    }
    await applyPatches(db, rulesTable, rules, memory);
    await insertRows(db, 'alert_firings', FIRING_COLUMNS, firings);
  },
};
