/**
 * Hardening: every input an outsider can send is bounded, refused with a typed 4xx before it costs
 * anything, and appends nothing; keys reach only what their role and accounts allow. The fuzz cases
 * and the access matrix are generated from the route tables, so a new route is covered as it lands.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { commandRoutes, PREVIEW_RUN_PATH } from '../src/commands/command-routes';
import { BATCH_BODY_LIMIT, BATCH_ROUTE, BODY_LIMIT } from '../src/edge/json-body';
import { readRoutes } from '../src/read-models/read-routes';
import { GROWTH_PLAN, monthAround } from '@ledger/client';
import { startTestLedger, TEST_KEYS, type TestLedger } from '../../../test/support/ledger-api';

const UNLIMITED = { perSecond: 1_000_000, burst: 1_000_000 };
/** One key per role for the account "own", and a public key with a low limit. */
const MATRIX_KEYS = (['service', 'admin', 'dashboard', 'auditor'] as const).map((role) => ({
  key: `matrix-${role}-key`,
  principal: `matrix-${role}`,
  role,
  accounts: ['own'],
  rateLimit: UNLIMITED,
}));
const PUBLIC_KEY = {
  key: 'public-reader-key',
  principal: 'public',
  role: 'dashboard',
  accounts: ['own'],
  rateLimit: { perSecond: 1, burst: 5 },
};

/** A service key with a low limit: a batch's commands count against it one by one. */
const LIMITED_SERVICE_KEY = {
  key: 'limited-service-key',
  principal: 'limited-service',
  role: 'service',
  accounts: ['own'],
  rateLimit: { perSecond: 0.001, burst: 6 },
};

let ledger: TestLedger;
let seq = 0;
const key = () => `hard-${++seq}`;
const eventCount = () => ledger.api.infrastructure.eventStore.countAfter();

function send(
  path: string,
  init: { method?: string; apiKey?: string | null; body?: string | Blob; headers?: Record<string, string> } = {},
) {
  const apiKey = init.apiKey === undefined ? 'service-key-all' : init.apiKey;
  return fetch(`${ledger.api.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    body: init.body,
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...init.headers,
    },
  });
}

async function answer(response: Response): Promise<{ status: number; code: unknown; message: unknown }> {
  const text = await response.text();
  const body = response.headers.get('content-type')?.includes('json')
    ? (JSON.parse(text) as Record<string, unknown>)
    : {};
  return { status: response.status, code: body.code, message: body.message };
}

beforeAll(async () => {
  ledger = await startTestLedger({
    apiKeysJson: JSON.stringify([...TEST_KEYS, ...MATRIX_KEYS, PUBLIC_KEY, LIMITED_SERVICE_KEY]),
  });
  const client = ledger.client();
  const period = monthAround(new Date());
  for (const accountId of ['own', 'foreign']) {
    for (const [path, body] of [
      ['/v1/accounts', { accountId, name: accountId }],
      [`/v1/accounts/${accountId}/subscription`, { plan: GROWTH_PLAN, period }],
      [`/v1/accounts/${accountId}/projects`, { projectId: 'p1' }],
    ] as const) {
      const response = await client.command(path, body, key());
      expect(response.status).toBe(200);
    }
  }
});

afterAll(() => ledger?.close());

describe('bounded input, typed refusals, nothing appended', () => {
  const grants = '/v1/accounts/own/grants';
  const grant = (amount: unknown) => JSON.stringify({ grantId: `g-${seq}`, source: 'manual', amount });

  it.each([
    ['a 120,000-zero amount', grant(`0.${'0'.repeat(120_000)}1`), 400, 'amount_invalid'],
    ['JSON nested 10,000 deep', `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400, 'json_too_deep'],
    ['NUL in a text field', JSON.stringify({ grantId: 'g\u0000', source: 'manual', amount: '1' }), 400, 'text_invalid'],
    ['NUL in an amount', grant('1\u0000'), 400, 'text_invalid'],
    ['a lone surrogate', '{"grantId":"g","source":"manual","amount":"1","note":"\\ud800"}', 400, 'text_invalid'],
    ['an escape sequence in a key', '{"\\u001b[2J":1}', 400, 'text_invalid'],
    ['a body over 256 kB', JSON.stringify({ pad: 'x'.repeat(300_000) }), 413, 'payload_too_large'],
  ])('%s', async (_name, body, status, code) => {
    const before = await eventCount();
    const got = await answer(await send(grants, { body, headers: { 'idempotency-key': key() } }));
    expect([got.status, got.code]).toEqual([status, code]);
    expect(typeof got.message).toBe('string');
    expect(await eventCount()).toBe(before);
  });

  it('checks a read-only key before it reads a huge body', async () => {
    const body = JSON.stringify({ runId: 'r', estimatedCost: `0.${'0'.repeat(200_000)}1` });
    const got = await answer(
      await send(`/v1/${PREVIEW_RUN_PATH.replace(':accountId', 'own')}`, { body, apiKey: 'matrix-dashboard-key' }),
    );
    expect([got.status, got.code]).toEqual([403, 'role_forbidden']);
  });

  it.each([
    ['an unknown charset', { 'content-type': 'application/json; charset=koi8-r' }, '{}', 415, 'unsupported_media_type'],
    ['an unknown Content-Encoding', { 'content-encoding': 'zstd-ish' }, '{}', 415, 'unsupported_media_type'],
    ['gzip that is not gzip', { 'content-encoding': 'gzip' }, 'not gzip at all', 400, 'body_unreadable'],
  ])('%s', async (_name, headers, body, status, code) => {
    const got = await answer(await send(grants, { body, headers: { 'idempotency-key': key(), ...headers } }));
    expect([got.status, got.code]).toEqual([status, code]);
  });

  it('reads a real gzip body', async () => {
    const body = new Blob([new Uint8Array(gzipSync(grant('1')))]);
    const got = await answer(
      await send(grants, { body, headers: { 'idempotency-key': key(), 'content-encoding': 'gzip' } }),
    );
    expect(got.status).toBe(200);
  });

  it.each([
    ['%00 in an account id', '/v1/accounts/own%00/overview'],
    ['a lone surrogate in a run id', '/v1/accounts/own/runs/%ED%A0%80'],
    ['a malformed escape', '/v1/accounts/own%E0%A4%A/usage'],
    ['a revision past int64', '/v1/accounts/own/events/9999999999999999999'],
    [
      'a usage cursor past int64',
      `/v1/accounts/own/usage?cursor=${Buffer.from('99999999999999999999/1/0').toString('base64url')}`,
    ],
    [
      'an events cursor past int64',
      `/v1/audit/accounts/own/events?cursor=${Buffer.from('rev:9999999999999999999').toString('base64url')}`,
    ],
    ['a position past int64', '/v1/accounts/own/overview?atLeastPosition=99999999999999999999/1'],
  ])('%s → 400', async (_name, path) => {
    const got = await answer(await send(path, { apiKey: 'auditor-key-all' }));
    expect(got.status).toBe(400);
    expect(typeof got.code).toBe('string');
  });

  it('answers a position past the store’s head at once with position_ahead_of_store', async () => {
    const got = await answer(await send('/v1/accounts/own/overview?atLeastPosition=9000000000000000000/0'));
    expect([got.status, got.code]).toEqual([400, 'position_ahead_of_store']);
  });

  it.each([
    ['an 8 kB correlation id', { 'x-correlation-id': 'a'.repeat(8192) }],
    ['a formula as correlation id', { 'x-correlation-id': "=cmd|' /C calc'!A0" }],
    ['a space in a causation id', { 'x-causation-id': 'a b' }],
    ['a space in an idempotency key', { 'idempotency-key': 'two words' }],
  ])('refuses %s with header_invalid', async (_name, headers) => {
    const before = await eventCount();
    const got = await answer(
      await send(grants, { body: grant('1'), headers: { 'idempotency-key': key(), ...headers } }),
    );
    expect([got.status, got.code]).toEqual([400, 'header_invalid']);
    expect(await eventCount()).toBe(before);
  });

  it('sends security headers', async () => {
    const response = await send('/v1/me');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a burst on a low-limit key with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 10; i++) {
      const response = await send('/v1/me', { apiKey: PUBLIC_KEY.key });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
      await response.text();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('counts each command of a batch against the key, refusing a batch it cannot pay for whole', async () => {
    const grant = () => ({
      type: 'GrantCredits',
      params: { accountId: 'own' },
      body: { grantId: key(), source: 'top_up', amount: '1' },
      idempotencyKey: key(),
    });
    const batch = (size: number) =>
      send('/v1/commands/batch', {
        apiKey: LIMITED_SERVICE_KEY.key,
        body: JSON.stringify({ commands: Array.from({ length: size }, grant) }),
      });
    // Seven commands at once are more than the key's burst of six: never payable.
    const tooBig = await batch(7);
    expect(tooBig.headers.get('retry-after')).toBeNull();
    expect(await answer(tooBig)).toMatchObject({ status: 429, code: 'rate_limited' });

    const before = await eventCount();
    expect((await batch(4)).status).toBe(200);
    const afterFirst = await eventCount();
    expect(afterFirst - before).toBe(4);
    // The refused request cost one, as any request does, and the batch of four four: one is left,
    // so a batch of three is refused whole.
    const refused = await batch(3);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await answer(refused)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(await eventCount()).toBe(afterFirst);
  });
});

describe('the edge: what a request meets before its body is read', () => {
  /** Valid JSON of about `size` bytes. */
  const padded = (size: number) => JSON.stringify({ pad: 'x'.repeat(size - 10) });

  it('refuses a read-only key, or none, before reading a huge malformed body', async () => {
    const body = `{"runId":${'['.repeat(5 * 1024 * 1024)}`;
    const path = '/v1/accounts/own/grants';
    const forbidden = await answer(await send(path, { body, apiKey: 'matrix-dashboard-key' }));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'role_forbidden']);
    const anonymous = await answer(await send(path, { body, apiKey: null }));
    expect([anonymous.status, anonymous.code]).toEqual([401, 'unauthenticated']);
  });

  it(`reads up to ${BATCH_BODY_LIMIT} bytes for ${BATCH_ROUTE} and ${BODY_LIMIT} for every other route`, async () => {
    const body = padded(1024 * 1024);
    const batch = await answer(await send(BATCH_ROUTE, { body, headers: { 'idempotency-key': key() } }));
    expect(batch.status).not.toBe(413);
    const grants = await answer(await send('/v1/accounts/own/grants', { body, headers: { 'idempotency-key': key() } }));
    expect([grants.status, grants.code]).toEqual([413, 'payload_too_large']);
    const over = await answer(
      await send(BATCH_ROUTE, { body: padded(BATCH_BODY_LIMIT + 1), headers: { 'idempotency-key': key() } }),
    );
    expect([over.status, over.code]).toEqual([413, 'payload_too_large']);
  });

  it('meets a route with its checks however its path is spelled', async () => {
    for (const path of ['/V1/accounts/own/grants', '/v1/accounts/own/grants/', '/%761/accounts/own/grants']) {
      const got = await answer(await send(path, { body: '{}', apiKey: 'matrix-dashboard-key' }));
      expect([path, got.status, got.code]).toEqual([path, 403, 'role_forbidden']);
    }
    const foreign = await answer(
      await send('/v1/accounts/%66oreign/grants', { body: '{}', apiKey: 'matrix-service-key' }),
    );
    expect([foreign.status, foreign.code]).toEqual([403, 'identity_denied']);
  });

  it('checks the key before it refuses a malformed percent-escape in the path', async () => {
    const path = '/v1/accounts/own%E0%A4%A/usage';
    const anonymous = await answer(await send(path, { apiKey: null }));
    expect([anonymous.status, anonymous.code]).toEqual([401, 'unauthenticated']);
    const response = await send(path);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const got = await answer(response);
    expect([got.status, got.code]).toEqual([400, 'validation_failed']);
  });

  it('refuses a body that is not JSON with 415, appending nothing', async () => {
    const before = await eventCount();
    const body = JSON.stringify({ grantId: `g-${seq}`, source: 'manual', amount: '1' });
    const got = await answer(
      await send('/v1/accounts/own/grants', {
        body,
        headers: { 'content-type': 'text/plain', 'idempotency-key': key() },
      }),
    );
    expect([got.status, got.code]).toEqual([415, 'unsupported_media_type']);
    expect(await eventCount()).toBe(before);
  });

  it('reads a UTF-16 body', async () => {
    const body = Buffer.from(JSON.stringify({ grantId: `g-${seq}`, source: 'manual', amount: '1' }), 'utf16le');
    const got = await answer(
      await send('/v1/accounts/own/grants', {
        body: new Blob([new Uint8Array(body)]),
        headers: { 'content-type': 'application/json; charset=utf-16le', 'idempotency-key': key() },
      }),
    );
    expect(got.status).toBe(200);
  });

  it('names no framework in its answers', async () => {
    const response = await send('/v1/me');
    expect(response.headers.get('x-powered-by')).toBeNull();
    await response.text();
  });
});

/** Every route as the tables declare it, with its path parameters filled in. */
const commandPaths = Object.entries(commandRoutes).map(([type, route]) => ({ type, path: route.path }));
const readPaths = Object.entries(readRoutes).map(([name, route]) => ({ name, path: route.path }));
const fill = (path: string, values: Record<string, string>) =>
  `/v1/${path.replace(/:(\w+)/g, (_, name: string) => encodeSegment(values[name] ?? 'x'))}`;
/** Percent-encoded, a lone surrogate as the bytes a careless client would send (not UTF-8). */
const encodeSegment = (text: string): string =>
  [...text]
    .map((char) => {
      try {
        return encodeURIComponent(char);
      } catch {
        return '%ED%A0%80';
      }
    })
    .join('');

describe('fuzzing every route from the route tables', () => {
  const nasty = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('\u0000', '\ud800', '1e400', '-0', '9'.repeat(30), '0.' + '0'.repeat(70) + '1', '=1+1', '../..'),
  );
  const jsonValue = fc.jsonValue({ maxDepth: 4 });
  const body = fc.oneof(
    fc.dictionary(
      fc.constantFrom(
        'accountId',
        'runId',
        'amount',
        'estimatedCost',
        'actualCost',
        'grantId',
        'source',
        'reason',
        'plan',
        'period',
        'holdId',
        'projectId',
      ),
      fc.oneof(nasty, jsonValue),
    ),
    jsonValue,
    nasty.map((text) => JSON.stringify(text).slice(0, -1)), // cut short
  );

  it('never answers 5xx, and a rejected command appends nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...commandPaths, { type: 'PreviewRun', path: PREVIEW_RUN_PATH }),
        fc.record({ accountId: fc.oneof(fc.constant('own'), nasty), runId: nasty, holdId: nasty }),
        body,
        fc.record({ 'idempotency-key': nasty, 'x-correlation-id': nasty }, { requiredKeys: [] }),
        async (route, params, payload, headers) => {
          const before = await eventCount();
          const response = await send(fill(route.path, params), {
            method: 'POST',
            body: typeof payload === 'string' ? payload : JSON.stringify(payload),
            headers: { 'idempotency-key': key(), ...sanitizedHeaders(headers) },
          });
          const got = await answer(response);
          expect(got.status).toBeLessThan(500);
          if (got.status !== 200) {
            expect(typeof got.code).toBe('string');
            expect(await eventCount()).toBe(before);
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 300_000);

  it('never answers 5xx to a read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...readPaths),
        fc.record({
          accountId: fc.oneof(fc.constant('own'), nasty),
          runId: nasty,
          revision: fc.oneof(nasty, fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String)),
        }),
        fc.dictionary(
          fc.constantFrom(
            'atLeastPosition',
            'cursor',
            'limit',
            'after',
            'project',
            'kind',
            'from',
            'to',
            'asOf',
            'run',
            'command',
          ),
          nasty,
        ),
        async (route, params, query) => {
          const search = new URLSearchParams(
            Object.entries(query).map(([k, v]) => [k, v.replace(/[\ud800-\udfff]/g, '\u0000')]),
          );
          const response = await send(`${fill(route.path, params)}?${search}`, { apiKey: 'auditor-key-all' });
          const got = await answer(response);
          expect(got.status).toBeLessThan(500);
          if (got.status >= 400) expect(typeof got.code).toBe('string');
        },
      ),
      { numRuns: 150 },
    );
  }, 300_000);
});

/** Header values fetch can send at all (it refuses some bytes itself); the rest is the API's to judge. */
function sanitizedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .map(([name, value]) => [name, value.replace(/[^\x20-\x7e]/g, '')] as const)
      .filter(([, value]) => value !== ''),
  );
}

describe('the access matrix: every role × every route × own and foreign account', () => {
  type Expectation = 'allowed' | 'role_forbidden' | 'identity_denied';
  const AUDIT = new Set(['auditBalance', 'auditEvents']);
  const ACCOUNTLESS = new Set(['me', 'accounts', 'projections']);
  const sendsCommands = (role: string) => role === 'service' || role === 'admin';
  const auditsAccounts = (role: string) => role === 'auditor' || role === 'admin';

  const cases: Array<{
    role: string;
    route: string;
    method: 'GET' | 'POST';
    path: string;
    account: string;
    expected: Expectation;
  }> = [];
  for (const { role, key: apiKey } of MATRIX_KEYS) {
    for (const account of ['own', 'foreign']) {
      for (const { type, path } of [...commandPaths, { type: 'PreviewRun', path: PREVIEW_RUN_PATH }]) {
        if (!path.includes(':accountId')) continue; // OpenBillingAccount names its account in the body
        const expected: Expectation = !sendsCommands(role)
          ? 'role_forbidden'
          : account === 'own'
            ? 'allowed'
            : 'identity_denied';
        cases.push({
          role: `${role}:${apiKey}`,
          route: type,
          method: 'POST',
          path: fill(path, { accountId: account, runId: 'r0', holdId: 'h0' }),
          account,
          expected,
        });
      }
      for (const { name, path } of readPaths) {
        const expected: Expectation = ACCOUNTLESS.has(name)
          ? 'allowed'
          : AUDIT.has(name) && !auditsAccounts(role)
            ? 'role_forbidden'
            : account === 'own'
              ? 'allowed'
              : 'identity_denied';
        cases.push({
          role: `${role}:${apiKey}`,
          route: name,
          method: 'GET',
          path: fill(path, { accountId: account, runId: 'r0', revision: '0' }),
          account,
          expected,
        });
      }
    }
  }

  it.each(cases.map((c) => [c.role.split(':')[0], c.method, c.route, c.account, c.expected, c] as const))(
    '%s %s %s on %s account → %s',
    async (_role, method, _route, _account, expected, c) => {
      const apiKey = c.role.split(':')[1];
      const before = await eventCount();
      const got = await answer(
        await send(c.path, {
          method,
          apiKey,
          body: method === 'POST' ? '{}' : undefined,
          headers: { 'idempotency-key': key() },
        }),
      );
      if (expected === 'allowed') {
        expect([401, 403]).not.toContain(got.status);
        expect(got.status).toBeLessThan(500);
      } else {
        expect([got.status, got.code]).toEqual([403, expected]);
        expect(await eventCount()).toBe(before);
      }
    },
  );
});
