/**
 * The facts a billing account stream records, declared once. Each event's data is decoded from
 * stored JSON and encoded back through these schemas; an event type's schema only grows, and an
 * older stored shape is upcast on read (see upcasters.ts), never rewritten.
 */
import { z } from 'zod';
import { alertKinds, grantSources } from './commands';
import { credits, creditsOrZero, identifier, instant, label } from './fields';
import { period, planTerms } from './plan';
import { compileEncoder, type Encoder } from './schema-encoder';
import { upcastEventData } from './upcasters';

const account = { accountId: identifier };
export const expiryReasons = ['lapsed', 'account_closed'] as const;
export type ExpiryReason = (typeof expiryReasons)[number];
const run = { ...account, runId: identifier, projectId: identifier };
const alert = { ...account, ruleId: identifier, kind: z.enum(alertKinds) };

/** Credits drawn from (or returned to) one grant: how money moves are traced to their source. */
export const grantDraw = z.object({ grantId: identifier, amount: credits });
export type GrantDraw = z.output<typeof grantDraw>;

export const eventSchemas = {
  BillingAccountOpened: z.object({ ...account, name: label }),
  SubscriptionStarted: z.object({ ...account, plan: planTerms, period }),
  PlanChanged: z.object({ ...account, plan: planTerms }),
  SubscriptionPeriodRenewed: z.object({ ...account, period }),
  ProjectAttached: z.object({ ...account, projectId: identifier, name: label.nullable() }),
  CreditsGranted: z.object({
    ...account,
    grantId: identifier,
    source: z.enum(grantSources),
    amount: credits,
    /**
     * Set when the grant takes effect later than it was recorded: until `CreditsBecameEffective`
     * its credits are in no bucket. Null: in effect at once (every version-1 grant).
     */
    effectiveAt: instant.nullable(),
    expiresAt: instant.nullable(),
    projectId: identifier.nullable(),
    reason: label.nullable(),
  }),
  /** A scheduled grant's validity window began: its credits join included or bonus, and available. */
  CreditsBecameEffective: z.object({
    ...account,
    grantId: identifier,
    source: z.enum(grantSources),
    projectId: identifier.nullable(),
    amount: credits,
  }),
  CreditsExpired: z.object({
    ...account,
    grantId: identifier,
    projectId: identifier.nullable(),
    amount: credits,
    /** `lapsed`: the grant's validity ended; `account_closed`: what was left when the account closed. */
    reason: z.enum(expiryReasons),
  }),
  RunAccepted: z.object({
    ...run,
    action: identifier,
    capabilityBand: identifier,
    estimatedCost: credits,
  }),
  CreditsReserved: z.object({ ...run, amount: credits, draws: z.array(grantDraw) }),
  RunCompleted: z.object({
    ...run,
    actualCost: creditsOrZero,
    /** When it completed: its settlement window starts then. Null for version-1 events. */
    completedAt: instant.nullable(),
  }),
  CreditsConsumed: z.object({
    ...run,
    amount: credits,
    /** The part taken from the run's reservation, and the grants it was reserved from. */
    fromReservation: creditsOrZero,
    reservationDraws: z.array(grantDraw),
    /** The part beyond the reservation, taken from available credits. */
    overrun: creditsOrZero,
    overrunDraws: z.array(grantDraw),
  }),
  ReservationReleased: z.object({
    ...run,
    amount: credits,
    reason: z.enum(['completed', 'failed', 'cancelled']),
    draws: z.array(grantDraw),
  }),
  CommercialExceptionRecorded: z.object({
    ...run,
    kind: z.enum(['overrun_shortfall']),
    /** Credits the run cost that no balance could cover: owed, never silently dropped. */
    amount: credits,
  }),
  RunFailed: z.object({ ...run, reason: label.nullable() }),
  RunCancelled: z.object({ ...run, reason: label.nullable() }),
  SettlementHoldPlaced: z.object({ ...run, holdId: identifier, provider: identifier, amount: credits }),
  SettlementHoldReleased: z.object({
    ...run,
    holdId: identifier,
    provider: identifier,
    amount: credits,
    outcome: z.enum(['paid_out', 'reversed']),
  }),
  AccountSuspended: z.object({ ...account, reason: label.nullable() }),
  AccountReactivated: z.object({ ...account }),
  BillingAccountClosed: z.object({ ...account }),
  /**
   * A rule to alert on (see commands.ts, alertKinds). `threshold` is the kind's parameter in its
   * canonical text: credits for available_below, a share of the period's included credits for
   * available_below_share, whole days for credits_expiring; null for the kinds without one.
   */
  AlertRuleDefined: z.object({ ...alert, threshold: z.string().nullable() }),
  AlertRuleRemoved: z.object({ ...account, ruleId: identifier }),
  /** A rule's condition started to hold (or its event happened): the fact a webhook delivers. */
  AlertFired: z.object({
    ...alert,
    threshold: z.string().nullable(),
    /** What crossed the threshold, in the kind's unit (credits, or fen of held value); null for event kinds. */
    observed: z.string().nullable(),
    /** What it is about when one thing is: the run of an exception, the grant expiring soonest. */
    subject: identifier.nullable(),
  }),
  /** A condition rule's condition stopped holding: the rule is armed to fire again. */
  AlertCleared: z.object({ ...alert }),
} as const;

export type EventType = keyof typeof eventSchemas;
export type EventOf<T extends EventType> = { type: T; data: z.output<(typeof eventSchemas)[T]> };
export type LedgerEvent = { [T in EventType]: EventOf<T> }[EventType];

/**
 * The current schema version of each event type; a stored event older than this is upcast (see
 * upcasters.ts). Version history: RunAccepted 2 added `capabilityBand`; CreditsGranted 2 added
 * `effectiveAt`; CreditsExpired 2 added `reason`; RunCompleted 2 added `completedAt`.
 */
export const eventSchemaVersions: Record<EventType, number> = {
  ...(Object.fromEntries(Object.keys(eventSchemas).map((type) => [type, 1])) as Record<EventType, number>),
  RunAccepted: 2,
  CreditsGranted: 2,
  CreditsExpired: 2,
  RunCompleted: 2,
};

export const isEventType = (type: string): type is EventType => Object.hasOwn(eventSchemas, type);

/** One encoder per event type, compiled from its schema (schema-encoder.ts). */
const eventEncoders = Object.fromEntries(
  Object.entries(eventSchemas).map(([type, schema]) => [type, compileEncoder(schema, type)]),
) as Record<EventType, Encoder>;

/** An event's data as it is stored: what its schema's encode gives, without re-checking the data. */
export function encodeEventData(event: LedgerEvent): Record<string, unknown> {
  return eventEncoders[event.type](event.data) as Record<string, unknown>;
}

/**
 * A stored event in its current shape. `schemaVersion` is the version it was stored at (its
 * metadata's); an older one is upcast first. Without one, the data is taken as current.
 */
export function decodeEvent(type: string, data: unknown, schemaVersion?: number): LedgerEvent {
  if (!isEventType(type)) throw new Error(`unknown event type "${type}"`);
  const current = eventSchemaVersions[type];
  const upcast = schemaVersion === undefined ? data : upcastEventData(type, schemaVersion, current, data);
  const parsed = eventSchemas[type].safeDecode(upcast as never);
  if (!parsed.success) throw new Error(`stored ${type} does not match its schema: ${parsed.error.message}`);
  return { type, data: parsed.data } as LedgerEvent;
}

/** Builds an event with its data checked by the type system. */
export const event = <T extends EventType>(type: T, data: EventOf<T>['data']): EventOf<T> => ({ type, data });
