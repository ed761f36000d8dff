/**
 * Webhooks as the API takes and gives them: the event types a receiver may subscribe to, an
 * endpoint's definition (hostile input: every field bounded), what the API answers about endpoints
 * and deliveries, and the body every delivery carries. Endpoints are operational configuration,
 * not ledger facts: they live in Postgres beside the idempotency keys, never in the event log.
 */
import { identifier } from '@ledger/domain';
import { z } from 'zod';
import { instantText } from './vocabulary';

/** What a delivery can be about; `alert.fired` is an AlertFired event. */
export const webhookEventTypes = ['alert.fired'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MIN_WEBHOOK_SECRET_LENGTH = 16;
export const MAX_WEBHOOK_SECRET_LENGTH = 256;
export const MAX_WEBHOOK_ACCOUNTS = 1000;
/** The most characters of a receiver's answer a delivery attempt keeps. */
export const MAX_RESPONSE_SNIPPET_LENGTH = 512;

/** Why a URL cannot be a webhook target, or null when it can (the transport rules only). */
export function webhookUrlProblem(text: string): string | null {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return `a URL is at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only https and http URLs are delivered to';
  if (url.username !== '' || url.password !== '') return 'a URL may not carry credentials (user:password@)';
  if (url.hash !== '') return 'a URL may not have a fragment (#…): receivers never see it';
  if (url.hostname === '') return 'a URL needs a host';
  return null;
}

const webhookUrl = z.string().superRefine((text, ctx) => {
  const problem = webhookUrlProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const webhookSecret = z
  .string()
  .min(MIN_WEBHOOK_SECRET_LENGTH, `a secret is at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`)
  .max(MAX_WEBHOOK_SECRET_LENGTH, `a secret is at most ${MAX_WEBHOOK_SECRET_LENGTH} characters`);

/** `POST /v1/webhook-endpoints`: where to send which events, signed with which secret. */
export const webhookEndpointDefinition = z.strictObject({
  endpointId: identifier,
  url: webhookUrl,
  secret: webhookSecret,
  eventTypes: z
    .array(z.enum(webhookEventTypes))
    .min(1)
    .max(webhookEventTypes.length * 4)
    .transform((types) => [...new Set(types)].sort()),
  accounts: z.union([
    z.literal('*'),
    z
      .array(identifier)
      .min(1)
      .max(MAX_WEBHOOK_ACCOUNTS)
      .transform((ids) => [...new Set(ids)].sort()),
  ]),
});
export type WebhookEndpointDefinition = z.output<typeof webhookEndpointDefinition>;

/** How long a replaced secret still signs, by default and at most: receivers roll over in that time. */
export const DEFAULT_PREVIOUS_SECRET_SECONDS = 24 * 60 * 60;
export const MAX_PREVIOUS_SECRET_SECONDS = 7 * 24 * 60 * 60;

/**
 * `POST /v1/webhook-endpoints/:endpointId/rotate-secret`: the new secret, and how long deliveries
 * are signed with the replaced one as well (one `v1` per secret), so a receiver can switch over.
 */
export const webhookSecretRotation = z.strictObject({
  secret: webhookSecret,
  previousSecretValidForSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_PREVIOUS_SECRET_SECONDS)
    .default(DEFAULT_PREVIOUS_SECRET_SECONDS),
});
export type WebhookSecretRotation = z.output<typeof webhookSecretRotation>;

/** An endpoint as the API shows it: never its secret, only the secret's last four characters. */
export const webhookEndpoint = z.strictObject({
  endpointId: z.string(),
  url: z.string(),
  secretHint: z.string().meta({ description: 'the last four characters of the secret, after "…"' }),
  /** The replaced secret's hint while deliveries are still signed with it too, else null. */
  previousSecretHint: z.string().nullable(),
  previousSecretUntil: instantText.nullable(),
  eventTypes: z.array(z.enum(webhookEventTypes)),
  accounts: z.union([z.literal('*'), z.array(z.string())]),
  status: z.enum(['enabled', 'disabled']),
  createdAt: instantText,
  updatedAt: instantText,
  disabledAt: instantText.nullable(),
});
export type WebhookEndpoint = z.output<typeof webhookEndpoint>;

export const webhookEndpointList = z.strictObject({
  endpoints: z.array(webhookEndpoint),
  nextCursor: z.string().nullable(),
});

export const webhookDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/** One POST to the receiver: when, and what came of it. */
export const webhookDeliveryAttempt = z.strictObject({
  attempt: z.number().int(),
  startedAt: instantText,
  /** Null while it is under way, or when the worker stopped before the answer (the delivery is retried). */
  finishedAt: instantText.nullable(),
  statusCode: z.number().int().nullable(),
  /** Why there is no status code (timeout, refused connection…), or null. */
  error: z.string().nullable(),
  latencyMs: z.number().int().nullable(),
  /** The start of the receiver's answer, control characters replaced. */
  responseSnippet: z.string().nullable(),
});

export const webhookDelivery = z.strictObject({
  deliveryId: z.uuid(),
  /** The event's id: the body's `id`, the same on every attempt, for the receiver's deduplication. */
  eventId: z.uuid(),
  endpointId: z.string(),
  eventType: z.enum(webhookEventTypes),
  accountId: z.string(),
  status: z.enum(webhookDeliveryStatuses),
  attempts: z.array(webhookDeliveryAttempt),
  nextAttemptAt: instantText.nullable(),
  createdAt: instantText,
  deliveredAt: instantText.nullable(),
});
export type WebhookDelivery = z.output<typeof webhookDelivery>;

export const webhookDeliveryPage = z.strictObject({
  deliveries: z.array(webhookDelivery),
  nextCursor: z.string().nullable(),
});

export const webhookQueries = {
  endpoints: z.object({
    after: identifier.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(100),
  }),
  deliveries: z.object({
    endpointId: identifier.optional(),
    accountId: identifier.optional(),
    status: z.enum(webhookDeliveryStatuses).optional(),
    /** The `nextCursor` of the page before: opaque. */
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  }),
} as const;

/** The JSON body of an `alert.fired` delivery, exactly as the receiver gets it. */
export const alertFiredDelivery = z.strictObject({
  id: z.uuid(),
  type: z.literal('alert.fired'),
  accountId: z.string(),
  ruleId: z.string(),
  kind: z.string(),
  occurredAt: instantText,
  data: z.looseObject({
    threshold: z.string().nullable(),
    observed: z.string().nullable(),
    subject: z.string().nullable(),
  }),
});
