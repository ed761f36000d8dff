/** What each read answers (GET under /v1), as JSON: money as decimal strings, instants as ISO-8601. */
import { roles } from '@ledger/domain';
import { z } from 'zod';
import { buckets, readModelBuckets, shareBuckets } from './buckets';
import {
  accountStatus,
  cnyText,
  countText,
  creditsText,
  dayText,
  fenText,
  holdStatus,
  instantText,
  jsonObject,
  positionText,
  revisionText,
  runStatus,
  usageKinds,
} from './vocabulary';

/** `me`: whose key this is, and which accounts it may open ('*' for all). */
export const me = z.strictObject({
  principal: z.string(),
  role: z.enum(roles),
  accounts: z.union([z.literal('*'), z.array(z.string()).readonly()]),
});

/** `accounts`: the billing accounts a key may read, by id, paged. */
export const accountList = z.strictObject({
  accounts: z.array(
    z.strictObject({
      accountId: z.string(),
      name: z.string(),
      status: accountStatus,
      planName: z.string().nullable(),
    }),
  ),
  /** Pass as `after` for the next page; null on the last. */
  nextAfter: z.string().nullable(),
});

/** Held credits against the plan's threshold, valued exactly at the plan's price; null without a plan. */
export const settlementView = z
  .strictObject({
    thresholdFen: fenText,
    thresholdCny: cnyText,
    heldValueFen: fenText,
    heldValueCny: cnyText,
    reached: z.boolean(),
  })
  .nullable();

export const recentEvent = z.strictObject({
  eventId: z.string(),
  type: z.string(),
  summary: z.string(),
  amount: creditsText.nullable(),
  projectId: z.string().nullable(),
  createdAt: instantText,
  commandId: z.string().nullable(),
  position: positionText,
});

/** `overview`: the billing overview of an account, or of one project's share of it. */
export const overview = z.strictObject({
  accountId: z.string(),
  name: z.string(),
  status: accountStatus,
  /** The project this view is of; null for the whole account. */
  project: z.string().nullable(),
  buckets: readModelBuckets,
  /** The wallet is account-owned: a project view shows the account's available beside its share. */
  accountAvailable: creditsText,
  subscription: z
    .strictObject({
      planId: z.string(),
      planName: z.string().nullable(),
      capabilityBands: z.array(z.string()),
      /** The plan's rate card as the event carried it (money as decimal strings). */
      rateCard: z.unknown(),
      includedPerPeriod: creditsText.nullable(),
      creditPriceFen: fenText.nullable(),
      period: z.strictObject({ start: instantText, end: instantText }).nullable(),
    })
    .nullable(),
  settlement: settlementView,
  relationship: z.strictObject({
    subscriptionPosture: z.strictObject({
      accountStatus,
      planName: z.string().nullable(),
      capabilityBands: z.array(z.string()),
      surface: z.string(),
    }),
    creditWallet: z.strictObject({
      available: creditsText,
      included: creditsText,
      bonus: creditsText,
      /** Granted, taking effect later (e.g. the next period's included credits after a renewal). */
      scheduled: creditsText,
      surface: z.string(),
    }),
    acceptedExecution: z.strictObject({
      acceptedRuns: z.number().int(),
      openRuns: z.number().int(),
      reserved: creditsText,
      surface: z.string(),
    }),
    usageLedger: z.strictObject({
      rows: z.number().int(),
      lastMovementAt: instantText.nullable(),
      surface: z.string(),
    }),
  }),
  projects: z.array(z.strictObject({ projectId: z.string(), name: z.string().nullable() })),
  recentEvents: z.array(recentEvent),
  /** The position every projection has reached; null before each has a checkpoint. */
  readModelPosition: positionText.nullable(),
});

/** One money movement of the usage ledger. */
export const usageRow = z.strictObject({
  eventId: z.string(),
  /** Which movement of the event this is, from 0. */
  entryIndex: z.number().int(),
  kind: z.enum(usageKinds),
  /** Always positive; the kind says which buckets it moved. */
  amount: creditsText,
  projectId: z.string().nullable(),
  runId: z.string().nullable(),
  grantId: z.string().nullable(),
  grantSource: z.string().nullable(),
  holdId: z.string().nullable(),
  reason: z.string().nullable(),
  /** The account's available credits after this movement. */
  availableAfter: creditsText,
  eventType: z.string(),
  /** The revision of the event in the account's stream: `events/:revision` shows it. */
  streamRevision: revisionText,
  position: positionText,
  occurredAt: instantText,
  principal: z.string(),
  commandId: z.string(),
  correlationId: z.string(),
});

/** `usage`: a page of the usage ledger, newest first. */
export const usagePage = z.strictObject({
  accountId: z.string(),
  rows: z.array(usageRow),
  /** Pass as `cursor` for the next (older) page; null on the last. */
  nextCursor: z.string().nullable(),
});

// ── daily figures (the overview's charts) ──────────────────────────────────────────────────────
/** One day of the daily figures: as it stood at the day's end (carried from the last day with events). */
export const dailyFigure = z.strictObject({
  day: dayText,
  /** The account's available credits: the wallet every project draws on. */
  available: creditsText,
  /** The buckets of the view — the account's, or the project's share (no available) — at the day's end. */
  buckets: readModelBuckets,
  /** Credits consumed during the day, in the view. */
  consumed: creditsText,
  /** Credits consumed during the day per project, for each project in `projects` (ids as keys). */
  consumedByProject: z.record(z.string(), creditsText),
});

/** `daily`: the account's (or one project's) figures for every day of a range. */
export const dailyFigures = z.strictObject({
  accountId: z.string(),
  /** The project the view is of; null for the whole account. */
  project: z.string().nullable(),
  from: dayText,
  to: dayText,
  /** The projects whose consumption the days break down: every attached one, or the one asked for. */
  projects: z.array(z.strictObject({ projectId: z.string(), name: z.string().nullable() })),
  /** One entry per day from `from` to `to`; days before the account's first event show zeros. */
  days: z.array(dailyFigure),
  /** The subscription periods that overlap the range: the boundaries a chart marks. */
  periods: z.array(z.strictObject({ start: instantText, end: instantText })),
});
// ── end of daily figures ──────────────────────────────────────────────────────────────────────

/** Every metadata field an event is stored with. */
export const eventMetadata = z.strictObject({
  eventId: z.string(),
  schemaVersion: z.number().int(),
  commandId: z.string(),
  commandType: z.string(),
  idempotencyKey: z.string(),
  /** Hash of the request that carried the idempotency key: a retry must match it. */
  requestHash: z.string(),
  correlationId: z.string(),
  causationId: z.string(),
  principal: z.string(),
  /** When the command was decided. */
  occurredAt: instantText,
});

/** `accountEvent`: one event of an account's stream, by revision. */
export const accountEvent = z.strictObject({
  accountId: z.string(),
  eventId: z.string(),
  type: z.string(),
  revision: revisionText,
  position: positionText,
  data: jsonObject,
  metadata: eventMetadata,
});

/** `projects`: per-project buckets beside the account's; the project rows and `unassigned` sum to it. */
export const projectBuckets = z.strictObject({
  accountId: z.string(),
  account: readModelBuckets,
  /** Credits granted to the account as a whole, not to any project. */
  unassigned: readModelBuckets,
  projects: z.array(z.strictObject({ projectId: z.string(), name: z.string().nullable(), buckets: readModelBuckets })),
});

/** `run`: one run with every ledger row it caused and its settlement holds. */
export const runDetails = z.strictObject({
  accountId: z.string(),
  runId: z.string(),
  projectId: z.string(),
  action: z.string(),
  capabilityBand: z.string(),
  status: runStatus,
  estimatedCost: creditsText,
  reserved: creditsText,
  actualCost: creditsText.nullable(),
  consumed: creditsText,
  held: creditsText,
  /** Credits the run cost beyond every balance (a commercial exception). */
  shortfall: creditsText,
  acceptedAt: instantText,
  finishedAt: instantText.nullable(),
  position: positionText,
  holds: z.array(
    z.strictObject({
      holdId: z.string(),
      provider: z.string(),
      amount: creditsText,
      status: holdStatus,
      placedAt: instantText,
      releasedAt: instantText.nullable(),
    }),
  ),
  ledger: z.array(usageRow),
});

/** One projection's checkpoint and lag. */
export const projectionStatusView = z.strictObject({
  name: z.string(),
  position: positionText,
  eventsApplied: countText,
  /** null while the event store cannot be reached. */
  lagEvents: z.number().int().nullable(),
  lagMs: z.number(),
  updatedAt: instantText.nullable(),
  failure: z.strictObject({ position: z.string(), reason: z.string(), at: z.string() }).nullable(),
});

/** `projections`: where each projection stands against the store's head. */
export const projectionStatus = z.strictObject({
  head: positionText.nullable(),
  /** Whether the event store answered: a lasting EventStoreDB outage shows here. */
  eventStore: z.strictObject({ status: z.enum(['ok', 'unavailable']), error: z.string().nullable() }),
  projections: z.array(projectionStatusView),
});

/**
 * `auditBalance` (and `ledger audit balance --json`): the buckets as of an instant or position,
 * replayed from the account's events alone.
 */
export const auditBalance = z.strictObject({
  accountId: z.string(),
  asOf: z.union([z.strictObject({ position: positionText }), z.strictObject({ instant: instantText })]),
  source: z.literal('events'),
  eventsReplayed: z.number().int(),
  /** The last event replayed; null when the account was opened later. */
  lastEvent: z
    .strictObject({
      eventId: z.string(),
      type: z.string(),
      revision: revisionText,
      position: positionText,
      occurredAt: instantText,
    })
    .nullable(),
  buckets,
  /** Every project's share at that point. */
  projects: z.array(z.strictObject({ projectId: z.string(), buckets: shareBuckets })),
  /** The share of the project asked for, when one was. */
  project: z.strictObject({ projectId: z.string(), buckets: shareBuckets }).optional(),
});

/** `auditEvents`: the account's raw events with their metadata, in stream order, paged. */
export const auditEventsPage = z.strictObject({
  accountId: z.string(),
  events: z.array(
    z.strictObject({
      eventId: z.string(),
      streamId: z.string(),
      revision: revisionText,
      position: positionText,
      type: z.string(),
      /** The schema version the data is stored in. */
      schemaVersion: z.number().int(),
      /** The version the ledger reads it as; null for a type it does not know. */
      currentSchemaVersion: z.number().int().nullable(),
      data: jsonObject,
      /** The stored data upcast to the current version, when it was stored in an older one. */
      upcastData: jsonObject.optional(),
      metadata: eventMetadata,
    }),
  ),
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: z.string().nullable(),
});

/** `/workspace/config.json`: where the demo lives and the public key that reads it; null without a demo. */
export const workspaceSettings = z.strictObject({
  demo: z
    .strictObject({
      accountId: z.string(),
      emptyAccountId: z.string(),
      readerKey: z.string(),
      /** The position of the seed's last command: read the demo at least as of it. */
      seededAt: positionText.nullable(),
    })
    .nullable(),
});

/** `/health`: Postgres and the event store answered. */
export const health = z.strictObject({ status: z.literal('ok') });

export type Me = z.output<typeof me>;
export type AccountList = z.output<typeof accountList>;
export type SettlementView = z.output<typeof settlementView>;
export type Overview = z.output<typeof overview>;
export type RecentEvent = z.output<typeof recentEvent>;
export type UsageRow = z.output<typeof usageRow>;
export type UsagePage = z.output<typeof usagePage>;
export type EventMetadata = z.output<typeof eventMetadata>;
export type AccountEvent = z.output<typeof accountEvent>;
export type ProjectBuckets = z.output<typeof projectBuckets>;
export type RunDetails = z.output<typeof runDetails>;
export type ProjectionStatusView = z.output<typeof projectionStatusView>;
export type ProjectionStatus = z.output<typeof projectionStatus>;
export type AuditBalance = z.output<typeof auditBalance>;
export type AuditEventsPage = z.output<typeof auditEventsPage>;
export type WorkspaceSettings = z.output<typeof workspaceSettings>;
export type DailyFigure = z.output<typeof dailyFigure>;
export type DailyFigures = z.output<typeof dailyFigures>;
export type Health = z.output<typeof health>;
