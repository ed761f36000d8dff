/**
 * The webhook delivery worker, inside the projector process: turns outbox rows (the `webhooks`
 * projection) into signed, logged, at-least-once POSTs.
 *
 * Fan-out: outbox rows past the worker's cursor (webhook_fanout) become one delivery per enabled
 * endpoint whose event types and accounts match, keyed by (event, endpoint) so that doing it twice
 * makes nothing new, and the cursor moves in the same statement. An endpoint therefore receives the
 * alerts the worker first sees after it was defined, never older ones; a rebuild rewrites the
 * outbox with the same rows behind the cursor, and the deliveries are the worker's own: nothing is
 * sent again.
 *
 * Delivery: due deliveries are claimed with FOR UPDATE SKIP LOCKED under a lease (a worker killed
 * mid-POST leaves a lease that runs out, and the next claim takes the delivery over), at most
 * `perEndpointConcurrency` in flight per endpoint and `concurrency` in all, so a hanging endpoint
 * holds only its own slots. Every attempt is logged (webhook_delivery_attempts); a 2xx delivers,
 * anything else is retried with exponential backoff and jitter until the horizon, then `failed`.
 *
 * The worker LISTENs on WEBHOOKS_CHANNEL: the projector notifies it when a batch wrote outbox rows
 * (the webhooks projection `announces` it), the API when an endpoint changes or a redelivery is
 * asked for. Not on every commit: the projector commits hundreds of batches a second, almost none
 * with an alert, and a look costs statements. It also wakes when a slot frees, and every `pollMs`
 * for retries that fell due. Database errors — Postgres restarting — are waited
 * out; nothing is lost, because nothing is decided outside a committed row. Every ten minutes it
 * deletes the deliveries that ended longer ago than the log's retention.
 */
import { randomUUID } from 'node:crypto';
import { signWebhook, SIGNATURE_HEADER } from '@ledger/client';
import { WEBHOOKS_CHANNEL, type LedgerDatabase } from '@ledger/database';
import { silentLog, type Log, type WebhookConfig } from '@ledger/platform';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { postWebhook, type PostOutcome } from './http-post';

export interface DeliveryWorkerOptions {
  readonly db: Kysely<LedgerDatabase>;
  /** Where to LISTEN for new outbox rows and the API's changes. */
  readonly databaseUrl: string;
  readonly config: WebhookConfig;
  readonly log?: Log;
  /** [0, 1): the jitter of each retry's pause. */
  readonly random?: () => number;
}

/** The outbox is fanned out in slices of this many rows per statement. */
const FANOUT_SLICE = 500;
const FANOUT_CURSOR = 'outbox';
/** How many due deliveries one claim looks at, beyond the free slots, to fill them across endpoints. */
const CLAIM_SCAN = 4;
const USER_AGENT = 'credit-ledger-webhooks/1';
/** Ended deliveries deleted per statement, so that pruning a long log holds no lock for long. */
const PRUNE_SLICE = 1000;
/** How often the worker looks for ended deliveries past the log's retention. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

interface Claimed {
  delivery_id: string;
  event_id: string;
  endpoint_id: string;
  attempts: number;
  body: string;
  url: string;
  /** Every secret that signs it: the current one, and one a rotation replaced while it still signs. */
  secrets: string[];
}

/**
 * The pause before retry `attempt + 1`: `base · 2^(attempt−1)` capped, of which the upper half is
 * random, so that many deliveries failing together do not retry together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(full / 2 + (full / 2) * random());
}

/** Resolves on the next `notify`, after `ms`, or on abort, whichever comes first. */
class Wakeup {
  private waiting: (() => void) | null = null;
  private pending = false;

  notify(): void {
    this.pending = true;
    this.waiting?.();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiting = null;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.waiting = done;
    });
  }
}

export class DeliveryWorker {
  /** This process's lease owner id: new at every start. */
  readonly owner = `worker-${randomUUID()}`;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly wakeup = new Wakeup();
  private readonly inFlight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private inFlightTotal = 0;
  private listener: pg.Client | null = null;
  private prunedAt = -Infinity;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.log = options.log ?? silentLog;
    this.random = options.random ?? Math.random;
  }

  /** How long a claim holds a delivery: one attempt's deadline, and as much again to record it. */
  get leaseMs(): number {
    return this.options.config.timeoutMs * 2 + 1000;
  }

  /** Runs until the signal aborts; then lets the attempts under way finish (each within its timeout). */
  async run(signal: AbortSignal): Promise<void> {
    const { pollMs } = this.options.config;
    let delay = 100;
    void this.listen(signal);
    while (!signal.aborted) {
      try {
        await this.fanOut();
        await this.claimAndSend(signal);
        if (performance.now() - this.prunedAt >= PRUNE_EVERY_MS) {
          await this.prune();
          this.prunedAt = performance.now();
        }
        delay = 100;
        await this.wakeup.wait(pollMs, signal);
      } catch (error) {
        if (signal.aborted) break;
        this.log.warn('webhook worker: database error; retrying', { error: messageOf(error), retryInMs: delay });
        await this.wakeup.wait(delay, signal);
        delay = Math.min(delay * 2, 2000);
      }
    }
    await Promise.allSettled([...this.running]);
    await this.listener?.end().catch(() => undefined);
  }

  /** LISTENs for the projector's commits on a connection of its own, reconnecting after a loss. */
  private async listen(signal: AbortSignal): Promise<void> {
    let delay = 100;
    while (!signal.aborted) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl });
      const lost = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.on('end', () => resolve());
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      try {
        await client.connect();
        client.on('notification', () => this.wakeup.notify());
        await client.query(`LISTEN ${WEBHOOKS_CHANNEL}`);
        this.listener = client;
        delay = 100;
        // Whatever committed while it was not listening is found now.
        this.wakeup.notify();
        await lost;
      } catch {
        // The main loop polls meanwhile, and says what is wrong with the database.
      }
      this.listener = null;
      await client.end().catch(() => undefined);
      if (signal.aborted) return;
      await this.wakeup.wait(delay, signal);
      delay = Math.min(delay * 2, 2000);
    }
  }

  /**
   * Deletes the deliveries that ended (delivered or failed) longer than the log's retention ago,
   * with their attempts; resolves to how many went. A pending one stays however old: it is still
   * owed. The outbox is the projection's and stays; the fan-out cursor never goes back, so nothing
   * deleted is fanned out again.
   */
  async prune(): Promise<number> {
    const retention = `${this.options.config.logRetentionMs} milliseconds`;
    let total = 0;
    for (;;) {
      const { rows } = await sql<{ n: number }>`
        WITH ended AS (
          SELECT delivery_id FROM webhook_deliveries
          WHERE status <> 'pending' AND updated_at < now() - ${retention}::interval
          ORDER BY updated_at
          LIMIT ${PRUNE_SLICE}
          FOR UPDATE SKIP LOCKED
        ), attempts AS (
          DELETE FROM webhook_delivery_attempts a USING ended WHERE a.delivery_id = ended.delivery_id
        ), deleted AS (
          DELETE FROM webhook_deliveries d USING ended WHERE d.delivery_id = ended.delivery_id RETURNING 1
        )
        SELECT count(*)::int AS n FROM deleted`.execute(this.options.db);
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < PRUNE_SLICE) break;
    }
    if (total > 0) this.log.info('webhook worker: pruned the delivery log', { deliveries: total });
    return total;
  }

  /** Fans every outbox row past the cursor out into deliveries; moves the cursor with them. */
  async fanOut(): Promise<number> {
    const { db } = this.options;
    await db
      .insertInto('webhook_fanout')
      .values({ name: FANOUT_CURSOR, position_commit: 0n, position_prepare: 0n })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    let total = 0;
    for (;;) {
      const { rows } = await sql<{ rows: number; deliveries: number }>`
        WITH cursor AS (
          SELECT position_commit, position_prepare FROM webhook_fanout WHERE name = ${FANOUT_CURSOR} FOR UPDATE
        ), slice AS (
          SELECT o.event_id, o.event_type, o.account_id, o.position_commit, o.position_prepare
          FROM webhook_outbox o, cursor c
          WHERE (o.position_commit, o.position_prepare) > (c.position_commit, c.position_prepare)
          ORDER BY o.position_commit, o.position_prepare
          LIMIT ${FANOUT_SLICE}
        ), fanned AS (
          INSERT INTO webhook_deliveries
            (event_id, endpoint_id, event_type, account_id, status, next_attempt_at, horizon_from)
          SELECT s.event_id, e.endpoint_id, s.event_type, s.account_id, 'pending', now(), now()
          FROM slice s
          JOIN webhook_endpoints e ON e.disabled_at IS NULL AND s.event_type = ANY (e.event_types)
            AND (e.accounts IS NULL OR s.account_id = ANY (e.accounts))
          ON CONFLICT (event_id, endpoint_id) DO NOTHING
          RETURNING 1
        ), last AS (
          SELECT position_commit, position_prepare FROM slice
          ORDER BY position_commit DESC, position_prepare DESC LIMIT 1
        ), moved AS (
          UPDATE webhook_fanout f SET position_commit = l.position_commit, position_prepare = l.position_prepare,
            updated_at = now()
          FROM last l WHERE f.name = ${FANOUT_CURSOR}
          RETURNING 1
        )
        SELECT (SELECT count(*)::int FROM slice) AS rows, (SELECT count(*)::int FROM fanned) AS deliveries,
          (SELECT count(*)::int FROM moved) AS moved`.execute(db);
      const row = rows[0];
      total += row?.deliveries ?? 0;
      if (!row || row.rows < FANOUT_SLICE) return total;
    }
  }

  /** Claims as many due deliveries as there are free slots, and starts each. */
  private async claimAndSend(signal: AbortSignal): Promise<void> {
    const { concurrency, perEndpointConcurrency } = this.options.config;
    for (;;) {
      const free = concurrency - this.inFlightTotal;
      if (free <= 0 || signal.aborted) return;
      const busy = [...this.inFlight].filter(([, used]) => used > 0);
      const claimed = await this.claim(free, perEndpointConcurrency, busy);
      for (const delivery of claimed) this.start(delivery, signal);
      if (claimed.length < free) return;
    }
  }

  private async claim(free: number, perEndpoint: number, busy: ReadonlyArray<[string, number]>): Promise<Claimed[]> {
    const full = busy.filter(([, used]) => used >= perEndpoint).map(([endpoint]) => endpoint);
    const { rows } = await sql<Claimed>`
      WITH due AS (
        SELECT d.delivery_id, d.endpoint_id, d.next_attempt_at
        FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id AND e.disabled_at IS NULL
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.leased_until IS NULL OR d.leased_until <= now())
          AND NOT (d.endpoint_id = ANY (${full}::text[]))
        ORDER BY d.next_attempt_at, d.delivery_id
        LIMIT ${free * CLAIM_SCAN}
        FOR UPDATE OF d SKIP LOCKED
      ), ranked AS (
        SELECT delivery_id, endpoint_id, next_attempt_at,
          row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at, delivery_id) AS n
        FROM due
      ), chosen AS (
        SELECT r.delivery_id FROM ranked r
        LEFT JOIN unnest(${busy.map(([endpoint]) => endpoint)}::text[], ${busy.map(([, used]) => used)}::int[])
          AS b(endpoint_id, used) ON b.endpoint_id = r.endpoint_id
        WHERE r.n <= ${perEndpoint} - coalesce(b.used, 0)
        ORDER BY r.next_attempt_at, r.delivery_id
        LIMIT ${free}
      ), claimed AS (
        UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, leased_until = now() + make_interval(secs => ${this.leaseMs / 1000}),
          lease_owner = ${this.owner}, updated_at = now()
        FROM chosen c WHERE d.delivery_id = c.delivery_id
        RETURNING d.delivery_id, d.event_id, d.endpoint_id, d.attempts
      ), abandoned AS (
        -- An attempt without an outcome whose delivery is claimed again: its worker died, or its
        -- lease ran out before it could say how it went.
        UPDATE webhook_delivery_attempts a
        SET finished_at = now(), error = 'no outcome recorded: the worker stopped or its lease ran out'
        FROM claimed c WHERE a.delivery_id = c.delivery_id AND a.finished_at IS NULL
        RETURNING 1
      ), started AS (
        INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at)
        SELECT delivery_id, attempts, now() FROM claimed
        RETURNING 1
      )
      SELECT c.delivery_id, c.event_id, c.endpoint_id, c.attempts, o.body, e.url,
        CASE WHEN e.previous_secret IS NOT NULL AND e.previous_secret_until > now()
          THEN ARRAY[e.secret, e.previous_secret] ELSE ARRAY[e.secret] END AS secrets
      FROM claimed c
      JOIN webhook_outbox o ON o.event_id = c.event_id
      JOIN webhook_endpoints e ON e.endpoint_id = c.endpoint_id`.execute(this.options.db);
    return rows;
  }

  private start(delivery: Claimed, signal: AbortSignal): void {
    this.inFlight.set(delivery.endpoint_id, (this.inFlight.get(delivery.endpoint_id) ?? 0) + 1);
    this.inFlightTotal += 1;
    const attempt = this.attempt(delivery, signal)
      .catch((error: unknown) =>
        this.log.error('webhook worker: an attempt failed unexpectedly', {
          deliveryId: delivery.delivery_id,
          error: messageOf(error),
        }),
      )
      .finally(() => {
        const left = (this.inFlight.get(delivery.endpoint_id) ?? 1) - 1;
        if (left > 0) this.inFlight.set(delivery.endpoint_id, left);
        else this.inFlight.delete(delivery.endpoint_id);
        this.inFlightTotal -= 1;
        this.running.delete(attempt);
        this.wakeup.notify();
      });
    this.running.add(attempt);
  }

  private async attempt(delivery: Claimed, signal: AbortSignal): Promise<void> {
    const { config } = this.options;
    const outcome = await postWebhook(
      delivery.url,
      delivery.body,
      {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        [SIGNATURE_HEADER.toLowerCase()]: signWebhook(delivery.body, delivery.secrets, new Date()),
        'ledger-event-id': delivery.event_id,
        'ledger-delivery-id': delivery.delivery_id,
        'ledger-delivery-attempt': String(delivery.attempts),
      },
      { timeoutMs: config.timeoutMs, allowInternalTargets: config.allowPrivateTargets },
    );
    // The outcome is recorded once the database takes it; until then the lease keeps others off,
    // and if it runs out first the delivery is simply attempted again (at least once).
    let delay = 100;
    for (;;) {
      try {
        await this.record(delivery, outcome);
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        await this.wakeup.wait(delay, signal);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private async record(delivery: Claimed, outcome: PostOutcome): Promise<void> {
    const { config } = this.options;
    const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const retryInMs = retryDelayMs(delivery.attempts, config.retryBaseMs, config.retryMaxMs, this.random);
    await sql`
      WITH logged AS (
        UPDATE webhook_delivery_attempts
        SET finished_at = now(), status_code = ${outcome.statusCode}, error = ${outcome.error},
          latency_ms = ${outcome.latencyMs}, response_snippet = ${outcome.responseSnippet}
        WHERE delivery_id = ${delivery.delivery_id} AND attempt = ${delivery.attempts}
        RETURNING 1
      )
      UPDATE webhook_deliveries
      SET status = CASE
            WHEN ${delivered} THEN 'delivered'
            WHEN now() + make_interval(secs => ${retryInMs / 1000})
              > horizon_from + make_interval(secs => ${config.horizonMs / 1000}) THEN 'failed'
            ELSE 'pending' END,
        next_attempt_at = CASE WHEN ${delivered} THEN next_attempt_at
          ELSE now() + make_interval(secs => ${retryInMs / 1000}) END,
        delivered_at = CASE WHEN ${delivered} THEN now() ELSE delivered_at END,
        leased_until = NULL, lease_owner = NULL, updated_at = now()
      -- Only while the claim is still this one: a delivery taken over meanwhile is the other's now.
      WHERE delivery_id = ${delivery.delivery_id} AND lease_owner = ${this.owner} AND attempts = ${delivery.attempts}
    `.execute(this.options.db);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
