/**
 * Bearer API keys and the principals they stand for, from API_KEYS_FILE, API_KEYS (JSON), or —
 * in development only — the documented development keys.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { roles, type Principal } from '@ledger/domain';
import { ConfigurationError, isDevelopment, type LedgerConfig } from '@ledger/platform';
import { z } from 'zod';
import { DEFAULT_RATE_LIMITS, type RateLimit } from '../edge/rate-limit';

/** Outside development a key must be long enough that guessing it is hopeless (≥ 32 characters). */
export const MIN_PRODUCTION_KEY_LENGTH = 32;

export const rateLimitEntry = z.object({
  perSecond: z.number().positive().max(1_000_000),
  burst: z.number().int().min(1).max(1_000_000).optional(),
});

export const keyEntry = z.object({
  key: z.string().min(8).max(512),
  principal: z.string().min(1).max(128),
  role: z.enum(roles),
  accounts: z.union([z.literal('*'), z.array(z.string().min(1))]),
  /** Requests per second and the burst a key may send; absent: its role's default. */
  rateLimit: rateLimitEntry.optional(),
});

export type KeyEntry = z.infer<typeof keyEntry>;

/** Development has no limits worth hitting: the benchmarks drive these keys at full speed. */
const UNLIMITED = { perSecond: 1_000_000, burst: 1_000_000 };

export const DEVELOPMENT_KEYS: ReadonlyArray<KeyEntry> = [
  { key: 'dev-service-key', principal: 'dev-service', role: 'service', accounts: '*', rateLimit: UNLIMITED },
  { key: 'dev-admin-key', principal: 'dev-admin', role: 'admin', accounts: '*', rateLimit: UNLIMITED },
  { key: 'dev-dashboard-key', principal: 'dev-dashboard', role: 'dashboard', accounts: '*', rateLimit: UNLIMITED },
  { key: 'dev-auditor-key', principal: 'dev-auditor', role: 'auditor', accounts: '*', rateLimit: UNLIMITED },
];

const HOW_TO_CONFIGURE =
  'set API_KEYS to a JSON array of keys, or API_KEYS_FILE to a file holding one, e.g. ' +
  '[{"key":"<at least 32 random characters>","principal":"workflow-runner","role":"service","accounts":"*"}] ' +
  '(README.md, "Security"); generate a key with: openssl rand -base64 33';

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** What a presented key stands for: who, and how fast it may go. */
export interface KeyHolder {
  readonly principal: Principal;
  readonly rateLimit: RateLimit;
}

/** Development or not is the platform's call, the same for keys and webhook targets. */
export { isDevelopment };

export class ApiKeys {
  private readonly byDigest: Array<{ digest: Buffer; holder: KeyHolder }>;

  constructor(
    entries: ReadonlyArray<KeyEntry>,
    readonly usingDevelopmentKeys = false,
  ) {
    this.byDigest = entries.map((entry) => ({
      digest: digest(entry.key),
      holder: {
        principal: { id: entry.principal, role: entry.role, accounts: entry.accounts },
        rateLimit: entry.rateLimit
          ? {
              perSecond: entry.rateLimit.perSecond,
              burst: entry.rateLimit.burst ?? Math.ceil(entry.rateLimit.perSecond),
            }
          : DEFAULT_RATE_LIMITS[entry.role],
      },
    }));
  }

  /**
   * The configured keys, plus `builtIn` ones the process adds itself (the demo workspace's). Outside
   * development, no keys configured or a short key stops the start with how to fix it.
   */
  static fromConfig(
    config: LedgerConfig,
    builtIn: ReadonlyArray<KeyEntry> = [],
    env: NodeJS.ProcessEnv = process.env,
  ): ApiKeys {
    const development = isDevelopment(config, env);
    const raw = config.apiKeysFile ? readKeyFile(config.apiKeysFile) : config.apiKeysJson;
    if (raw === undefined) {
      if (!development) {
        throw new ConfigurationError(
          `no API keys are configured, and the development keys are public, so the ledger does not start with ${
            env.NODE_ENV === 'production' ? 'NODE_ENV=production' : 'DATABASE_URL set'
          }: ${HOW_TO_CONFIGURE}`,
        );
      }
      return new ApiKeys([...DEVELOPMENT_KEYS, ...builtIn], true);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw new ConfigurationError(`API keys are not valid JSON (${(error as Error).message}): ${HOW_TO_CONFIGURE}`);
    }
    const parsed = z.array(keyEntry).min(1).safeParse(json);
    if (!parsed.success) throw new ConfigurationError(`API keys are misconfigured: ${parsed.error.message}`);
    if (!development) {
      const short = parsed.data.filter((entry) => entry.key.length < MIN_PRODUCTION_KEY_LENGTH);
      if (short.length > 0) {
        throw new ConfigurationError(
          `API keys must be at least ${MIN_PRODUCTION_KEY_LENGTH} characters outside development; too short: ` +
            `${short.map((entry) => entry.principal).join(', ')} (generate one with: openssl rand -base64 33)`,
        );
      }
    }
    return new ApiKeys([...parsed.data, ...builtIn]);
  }

  /** Who a presented key stands for; compared by digest in constant time. */
  holderOf(presented: string): KeyHolder | undefined {
    const wanted = digest(presented);
    return this.byDigest.find((entry) => timingSafeEqual(entry.digest, wanted))?.holder;
  }

  /** The principal a presented key stands for. */
  principalFor(presented: string): Principal | undefined {
    return this.holderOf(presented)?.principal;
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`API_KEYS_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
}
