/**
 * Per-key rate limits: a token bucket per principal, in this process's memory. A key holds up to
 * `burst` requests and regains `perSecond` of them each second; past that it is answered 429 with
 * Retry-After. A batch of commands counts one request per command it holds. Memory is enough
 * here: a limit protects one instance's event loop and database pool, and N instances behind a
 * balancer then allow N times the rate, which is what they can serve.
 */
import type { Role } from '@ledger/domain';

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * Read-only keys get a low default (a dashboard polls a handful of reads per page), services and
 * admins a generous one (the workflow runner sends bursts of commands). A key file can set either.
 */
export const DEFAULT_RATE_LIMITS: Record<Role, RateLimit> = {
  dashboard: { perSecond: 20, burst: 60 },
  auditor: { perSecond: 20, burst: 60 },
  service: { perSecond: 2_000, burst: 4_000 },
  admin: { perSecond: 2_000, burst: 4_000 },
};

interface Bucket {
  tokens: number;
  at: number;
}

/** How many keys' buckets are kept; only configured keys have buckets, so this is generous. */
const MAX_BUCKETS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Takes `count` requests from the key's bucket: 0 when allowed, else the seconds until they are
   * (Infinity when never: more than the bucket holds). Nothing is taken unless all are.
   */
  take(key: string, limit: RateLimit, count = 1): number {
    if (count > limit.burst) return Infinity;
    if (count <= 0) return 0;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
      bucket = { tokens: limit.burst, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return 0;
    }
    return Math.max(1, Math.ceil((count - bucket.tokens) / limit.perSecond));
  }
}
