/**
 * Every way the ledger can say no to a command, declared once. The HTTP edge derives its status
 * from `kind`; callers branch on `code`.
 */

export type RejectionKind =
  | 'invalid' // the request itself is malformed
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict' // the request clashes with the ledger's current state
  | 'payment_required'
  | 'unprocessable'
  | 'too_large'
  | 'unsupported_media' // a body in an encoding or charset the API does not read
  | 'too_many_requests'
  | 'unavailable'
  | 'internal';

interface RejectionSpec {
  readonly kind: RejectionKind;
  readonly summary: string;
}

export const rejectionCatalogue = {
  // Amounts (see money.ts)
  amount_invalid: { kind: 'invalid', summary: 'An amount is not a decimal string.' },
  amount_too_precise: { kind: 'invalid', summary: 'An amount has more decimal places than the ledger keeps.' },
  amount_negative: { kind: 'invalid', summary: 'An amount is negative.' },
  amount_not_positive: { kind: 'invalid', summary: 'An amount that must be positive is zero.' },
  amount_too_large: { kind: 'invalid', summary: 'An amount is larger than the ledger accepts.' },

  // Request shape and transport
  malformed_json: { kind: 'invalid', summary: 'The request body is not valid JSON.' },
  validation_failed: { kind: 'invalid', summary: 'A field is missing or has the wrong type.' },
  idempotency_key_missing: { kind: 'invalid', summary: 'Commands need an Idempotency-Key header.' },
  idempotency_key_reused: {
    kind: 'unprocessable',
    summary: 'This Idempotency-Key was already used for a different request.',
  },
  idempotency_key_in_flight: {
    kind: 'conflict',
    summary: 'A request with this Idempotency-Key is still being processed.',
  },
  concurrency_exhausted: {
    kind: 'conflict',
    summary: 'The account changed too often while the command was retried; send it again.',
  },
  route_not_found: { kind: 'not_found', summary: 'No such endpoint.' },
  payload_too_large: { kind: 'too_large', summary: 'The request body is larger than the API accepts.' },
  json_too_deep: { kind: 'invalid', summary: 'The request body nests arrays or objects deeper than the API reads.' },
  text_invalid: {
    kind: 'invalid',
    summary: 'A text value holds NUL, a control character or invalid Unicode (a lone surrogate).',
  },
  body_unreadable: {
    kind: 'invalid',
    summary: 'The request body could not be read: not really compressed as it says, or cut short.',
  },
  unsupported_media_type: {
    kind: 'unsupported_media',
    summary: 'The body is in a charset or Content-Encoding the API does not read (UTF-8; gzip, deflate, br).',
  },
  header_invalid: {
    kind: 'invalid',
    summary: 'A header (Idempotency-Key, X-Correlation-Id, X-Causation-Id) is too long or holds characters it may not.',
  },
  rate_limited: { kind: 'too_many_requests', summary: 'This key sent more requests than its limit; retry later.' },
  position_ahead_of_store: {
    kind: 'invalid',
    summary: 'The requested position is past the event store’s head: no receipt gave it out.',
  },
  read_model_behind: {
    kind: 'unavailable',
    summary: 'The read models have not caught up with the requested position in time; is the projector running?',
  },
  store_unavailable: { kind: 'unavailable', summary: 'The event store or database cannot be reached; retry later.' },
  internal_error: {
    kind: 'internal',
    summary: 'The ledger failed unexpectedly; nothing was appended by this attempt.',
  },

  // Permission order: identity
  unauthenticated: { kind: 'unauthenticated', summary: 'No valid API key was presented.' },
  role_forbidden: { kind: 'forbidden', summary: 'This key’s role may not send commands.' },
  identity_denied: { kind: 'forbidden', summary: 'This key may not act for this account.' },

  // Permission order: account, account_state
  account_not_found: { kind: 'not_found', summary: 'There is no billing account with this id.' },
  account_already_exists: { kind: 'conflict', summary: 'A billing account with this id exists already.' },
  account_closed: { kind: 'conflict', summary: 'The billing account is closed.' },
  account_not_active: { kind: 'conflict', summary: 'The billing account is not active.' },
  account_not_suspended: { kind: 'conflict', summary: 'The billing account is not suspended.' },
  account_has_open_commitments: {
    kind: 'conflict',
    summary: 'The account still has open runs or settlement holds.',
  },

  // Permission order: plan
  subscription_missing: { kind: 'conflict', summary: 'The account has no subscription.' },
  subscription_already_started: { kind: 'conflict', summary: 'The account already has a subscription.' },
  subscription_period_ended: {
    kind: 'conflict',
    summary: 'The subscription period has ended and was not renewed.',
  },
  subscription_period_not_started: {
    kind: 'conflict',
    summary: 'No subscription period has begun yet: runs are accepted from the period’s start.',
  },
  period_invalid: { kind: 'invalid', summary: 'A period must end after it starts.' },
  period_already_ended: {
    kind: 'unprocessable',
    summary: 'The period has ended already; its credits would lapse unused.',
  },
  period_already_renewed: {
    kind: 'conflict',
    summary: 'The next period is renewed already; renew again once it has begun.',
  },
  period_not_after_current: {
    kind: 'conflict',
    summary: 'A renewed period must start at or after the end of the current one.',
  },
  capability_band_not_in_plan: { kind: 'forbidden', summary: 'The plan does not allow this capability band.' },
  plan_invalid: { kind: 'invalid', summary: 'The plan terms are inconsistent.' },

  // Permission order: project
  project_not_attached: { kind: 'forbidden', summary: 'The project is not attached to this account.' },
  project_already_attached: { kind: 'conflict', summary: 'The project is attached already.' },

  // Permission order: action
  action_unknown: { kind: 'unprocessable', summary: 'The plan does not price this action.' },
  action_band_mismatch: {
    kind: 'unprocessable',
    summary: 'The action belongs to a different capability band.',
  },
  action_cost_below_minimum: {
    kind: 'unprocessable',
    summary: 'The estimated cost is below the action’s minimum charge.',
  },

  // Permission order: credits
  insufficient_credits: { kind: 'payment_required', summary: 'Available credits do not cover the estimated cost.' },
  account_credit_limit: {
    kind: 'unprocessable',
    summary: 'The grant would take the account past the most credits it may hold.',
  },

  // Grants
  grant_already_exists: { kind: 'conflict', summary: 'A grant with this id exists already.' },
  grant_id_reserved: {
    kind: 'invalid',
    summary: 'Grant ids starting with "included:" name a plan’s included credits.',
  },
  grant_expiry_not_in_future: { kind: 'unprocessable', summary: 'A grant must expire after it is granted.' },
  grant_window_invalid: { kind: 'unprocessable', summary: 'A grant must take effect before it expires.' },
  as_of_in_future: { kind: 'unprocessable', summary: 'Credits cannot be expired as of a time still to come.' },

  // Runs
  run_already_exists: { kind: 'conflict', summary: 'A run with this id was accepted already.' },
  run_not_found: { kind: 'not_found', summary: 'There is no run with this id on this account.' },
  event_not_found: { kind: 'not_found', summary: 'The account’s stream has no event at this revision.' },
  run_archived: {
    kind: 'conflict',
    summary: 'The run finished and was archived: nothing can happen to it any more, and its id is not used again.',
  },
  settlement_window_closed: {
    kind: 'unprocessable',
    summary: 'The run completed longer ago than the settlement window: no more holds can be placed on it.',
  },
  run_already_finished: { kind: 'conflict', summary: 'The run has finished already.' },
  run_not_completed: { kind: 'conflict', summary: 'Only a completed run can have credits held for settlement.' },

  // Settlement holds
  hold_already_exists: { kind: 'conflict', summary: 'A settlement hold with this id exists already.' },
  hold_exceeds_consumed: {
    kind: 'unprocessable',
    summary: 'The hold is larger than the run’s consumed credits not yet held.',
  },
  hold_not_found: { kind: 'not_found', summary: 'There is no settlement hold with this id.' },
  hold_archived: {
    kind: 'conflict',
    summary: 'The settlement hold was released and archived: it cannot be released again, nor its id reused.',
  },
  hold_already_released: { kind: 'conflict', summary: 'The settlement hold was released already.' },

  // Alert rules
  alert_threshold_invalid: {
    kind: 'invalid',
    summary: 'The threshold does not fit the rule’s kind (a share between 0 and 1, 1–365 days, or none).',
  },
  alert_rule_conflict: {
    kind: 'conflict',
    summary: 'An alert rule with this id exists with another definition; remove it first.',
  },
  alert_rule_not_found: { kind: 'not_found', summary: 'There is no alert rule with this id on this account.' },
  alert_rule_limit: { kind: 'unprocessable', summary: 'The account has as many alert rules as it may have.' },
  // Webhooks (operational configuration, not ledger commands)
  webhook_endpoint_conflict: {
    kind: 'conflict',
    summary: 'A webhook endpoint with this id exists already, with a different definition.',
  },
  webhook_endpoint_not_found: { kind: 'not_found', summary: 'There is no webhook endpoint with this id.' },
  webhook_target_refused: {
    kind: 'unprocessable',
    summary: 'The webhook URL names an internal address (loopback, private, link-local), refused outside development.',
  },
  webhook_delivery_not_found: { kind: 'not_found', summary: 'There is no webhook delivery with this id.' },
} as const satisfies Record<string, RejectionSpec>;

export type RejectionCode = keyof typeof rejectionCatalogue;

export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export function reject(code: RejectionCode, message?: string, details?: Record<string, unknown>): Rejection {
  return { code, message: message ?? rejectionCatalogue[code].summary, ...(details ? { details } : {}) };
}

export const rejectionKind = (code: RejectionCode): RejectionKind => rejectionCatalogue[code].kind;
