/** Secure by default, and output its readers can trust: without a server. */
import { parseCsvLine, csvField, loadConfig, ConfigurationError } from '@ledger/platform';
import { parseCredits } from '@ledger/domain';
import { ApiKeys } from '../src/identity/api-keys';
import { RateLimiter } from '../src/edge/rate-limit';

const longKey = 'k'.repeat(32);
const entry = (key: string) => [{ key, principal: 'runner', role: 'service', accounts: '*' }];

describe('API keys outside development', () => {
  const production = { ...loadConfig({}), databaseUrl: 'postgres://db/ledger' };

  it('refuses to start without keys, saying how to set them', () => {
    expect(() => ApiKeys.fromConfig(production, [], {})).toThrow(ConfigurationError);
    expect(() => ApiKeys.fromConfig(production, [], {})).toThrow(/API_KEYS/);
    expect(() => ApiKeys.fromConfig(loadConfig({}), [], { NODE_ENV: 'production' })).toThrow(/NODE_ENV=production/);
  });

  it('refuses keys shorter than 32 characters', () => {
    const short = { ...production, apiKeysJson: JSON.stringify(entry('short-key-123')) };
    expect(() => ApiKeys.fromConfig(short, [], {})).toThrow(/at least 32 characters/);
    const fine = { ...production, apiKeysJson: JSON.stringify(entry(longKey)) };
    expect(ApiKeys.fromConfig(fine, [], {}).principalFor(longKey)?.id).toBe('runner');
  });

  it('keeps the development keys on the embedded Postgres', () => {
    expect(ApiKeys.fromConfig(loadConfig({}), [], {}).usingDevelopmentKeys).toBe(true);
    expect(ApiKeys.fromConfig(production, [], { LEDGER_EMBEDDED_POSTGRES: 'on' }).usingDevelopmentKeys).toBe(true);
  });

  it('takes a rate limit per key from the key file, and a low default for read-only roles', () => {
    const keys = ApiKeys.fromConfig(
      {
        ...loadConfig({}),
        apiKeysJson: JSON.stringify([
          { ...entry(longKey)[0], rateLimit: { perSecond: 5, burst: 7 } },
          { key: 'd'.repeat(32), principal: 'dash', role: 'dashboard', accounts: '*' },
        ]),
      },
      [],
      {},
    );
    expect(keys.holderOf(longKey)?.rateLimit).toEqual({ perSecond: 5, burst: 7 });
    expect(keys.holderOf('d'.repeat(32))?.rateLimit.perSecond).toBeLessThanOrEqual(20);
  });
});

it('a token bucket allows its burst, then asks to wait, then refills', () => {
  let now = 0;
  const limiter = new RateLimiter(() => now);
  const limit = { perSecond: 2, burst: 3 };
  expect([1, 2, 3].map(() => limiter.take('k', limit))).toEqual([0, 0, 0]);
  expect(limiter.take('k', limit)).toBeGreaterThanOrEqual(1);
  now += 1000;
  expect(limiter.take('k', limit)).toBe(0);
});

describe('CSV cells a spreadsheet would run', () => {
  it.each(["=cmd|' /C calc'!A0", '+1', '-1', '@SUM(A1)', '\tx', '\rx', "'quoted", 'plain', 'a,b "c"'])(
    'writes %j as text and reads it back exactly',
    (value) => {
      const written = csvField(value);
      expect(written).not.toMatch(/^[=+\-@\t\r]/);
      expect(parseCsvLine(`${written},z`)).toEqual([value, 'z']);
    },
  );
});

it('parses a long amount in linear time: by length, before any regex', () => {
  const parsed = parseCredits(`0.${'0'.repeat(1_000_000)}1`);
  expect(parsed).toMatchObject({ ok: false, problem: 'amount_invalid' });
  expect(parseCredits(`1.${'0'.repeat(60)}`)).toEqual({ ok: true, value: 10_000n });
});
