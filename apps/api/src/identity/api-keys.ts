/**
 * Bearer API keys and the principals they stand for, from API_KEYS_FILE, API_KEYS (JSON), or —
 * when neither is set — the documented development keys.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { roles, type Principal } from '@ledger/domain';
import type { LedgerConfig } from '@ledger/platform';
import { z } from 'zod';

export const keyEntry = z.object({
  key: z.string().min(8),
  principal: z.string().min(1),
  role: z.enum(roles),
  accounts: z.union([z.literal('*'), z.array(z.string().min(1))]),
});

export type KeyEntry = z.infer<typeof keyEntry>;

export const DEVELOPMENT_KEYS: ReadonlyArray<KeyEntry> = [
  { key: 'dev-service-key', principal: 'dev-service', role: 'service', accounts: '*' },
  { key: 'dev-admin-key', principal: 'dev-admin', role: 'admin', accounts: '*' },
  { key: 'dev-dashboard-key', principal: 'dev-dashboard', role: 'dashboard', accounts: '*' },
  { key: 'dev-auditor-key', principal: 'dev-auditor', role: 'auditor', accounts: '*' },
];

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

export class ApiKeys {
  private readonly byDigest: Array<{ digest: Buffer; principal: Principal }>;

  constructor(
    entries: ReadonlyArray<KeyEntry>,
    readonly usingDevelopmentKeys = false,
  ) {
    this.byDigest = entries.map((entry) => ({
      digest: digest(entry.key),
      principal: { id: entry.principal, role: entry.role, accounts: entry.accounts },
    }));
  }

  /** The configured keys, plus `builtIn` ones the process adds itself (the demo workspace's). */
  static fromConfig(config: LedgerConfig, builtIn: ReadonlyArray<KeyEntry> = []): ApiKeys {
    const raw = config.apiKeysFile ? readFileSync(config.apiKeysFile, 'utf8') : config.apiKeysJson;
    if (raw === undefined) return new ApiKeys([...DEVELOPMENT_KEYS, ...builtIn], true);
    const parsed = z.array(keyEntry).min(1).safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`API keys are misconfigured: ${parsed.error.message}`);
    return new ApiKeys([...parsed.data, ...builtIn]);
  }

  /** The principal a presented key stands for; compared by digest in constant time. */
  principalFor(presented: string): Principal | undefined {
    const wanted = digest(presented);
    return this.byDigest.find((entry) => timingSafeEqual(entry.digest, wanted))?.principal;
  }
}
