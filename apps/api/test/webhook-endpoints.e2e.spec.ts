/**
 * Webhook endpoints over real HTTP: admin keys only (refused before the body is read), hostile
 * input refused with typed 4xx, idempotent definition, a typed 409 for a second definition under
 * one id, secrets never shown, disable and enable, and internal targets refused outside development.
 */
import type { WebhookEndpoint } from '@ledger/contract';
import { loadConfig } from '@ledger/platform';
import { startTestLedger, TEST_KEYS, type TestLedger } from '../../../test/support/ledger-api';

const ADMIN = { key: 'admin-key-all', principal: 'ops', role: 'admin', accounts: '*' };
const KEYS = JSON.stringify([...TEST_KEYS, { ...ADMIN, rateLimit: { perSecond: 1e6, burst: 1e6 } }]);
const SECRET = 'whsec_api_0123456789abcdef';

let ledger: TestLedger;
let seq = 0;
const key = () => `wh-api-${++seq}`;

beforeAll(async () => {
  ledger = await startTestLedger({ apiKeysJson: KEYS });
});
afterAll(() => ledger?.close());

const definition = (overrides: Record<string, unknown> = {}) => ({
  endpointId: `ep-${seq}`,
  url: 'https://hooks.example.com/ledger',
  secret: SECRET,
  eventTypes: ['alert.fired'],
  accounts: '*',
  ...overrides,
});
const define = (body: unknown, idempotencyKey: string | null = key(), apiKey = ADMIN.key) =>
  ledger.client(apiKey).command('/v1/webhook-endpoints', body, idempotencyKey);

it('defines an endpoint and lists it, never showing the secret', async () => {
  const body = definition({ endpointId: 'listed', accounts: ['acme', 'beta', 'acme'] });
  const { status, body: endpoint } = await define(body);
  expect(status).toBe(200);
  expect(endpoint).toMatchObject({
    endpointId: 'listed',
    url: body.url,
    secretHint: `…${SECRET.slice(-4)}`,
    eventTypes: ['alert.fired'],
    accounts: ['acme', 'beta'],
    status: 'enabled',
    disabledAt: null,
  });
  const list = await ledger.client(ADMIN.key).get('/v1/webhook-endpoints');
  expect(list.status).toBe(200);
  expect(list.body.endpoints.map((e: WebhookEndpoint) => e.endpointId)).toContain('listed');
  expect(JSON.stringify(list.body)).not.toContain(SECRET);
});

it('answers a retry with the first answer, and refuses the key for another body', async () => {
  const idempotencyKey = key();
  const body = definition({ endpointId: 'idem' });
  const first = await define(body, idempotencyKey);
  const again = await define(body, idempotencyKey);
  expect([first.status, again.status]).toEqual([200, 200]);
  expect(again.body).toEqual(first.body);
  const reused = await define({ ...body, url: 'https://elsewhere.example.com/' }, idempotencyKey);
  expect([reused.status, reused.body.code]).toEqual([422, 'idempotency_key_reused']);
  const missing = await define(body, null);
  expect([missing.status, missing.body.code]).toEqual([400, 'idempotency_key_missing']);
});

it('takes the same definition again under a new key, and refuses another one under the same id (409)', async () => {
  const body = definition({ endpointId: 'taken' });
  expect((await define(body)).status).toBe(200);
  expect((await define(body)).status).toBe(200);
  const other = await define({ ...body, secret: `${SECRET}-rotated` });
  expect([other.status, other.body.code]).toEqual([409, 'webhook_endpoint_conflict']);
});

it.each([
  ['a URL that is not http(s)', { url: 'ftp://hooks.example.com/x' }],
  ['a URL with credentials', { url: 'https://user:pw@hooks.example.com/x' }],
  ['a relative URL', { url: '/hooks' }],
  ['a URL longer than 2048 characters', { url: `https://hooks.example.com/${'a'.repeat(2100)}` }],
  ['a short secret', { secret: 'short' }],
  ['a secret of 257 characters', { secret: 's'.repeat(257) }],
  ['an unknown event type', { eventTypes: ['alert.exploded'] }],
  ['no event types', { eventTypes: [] }],
  ['accounts that are neither "*" nor a list', { accounts: 'all' }],
  ['more than 1,000 accounts', { accounts: Array.from({ length: 1001 }, (_, i) => `a${i}`) }],
  ['an endpoint id that is not an id', { endpointId: 'no spaces please' }],
  ['an unknown field', { retries: 3 }],
])('refuses %s with a typed 400', async (_name, overrides) => {
  const { status, body } = await define(definition(overrides));
  expect([status, body.code]).toEqual([400, 'validation_failed']);
  expect(typeof body.message).toBe('string');
});

it.each(['service-key-all', 'dashboard-key-all', 'auditor-key-all'])(
  'refuses a %s before reading the body, reads included',
  async (apiKey) => {
    const huge = JSON.stringify({ pad: `0.${'0'.repeat(200_000)}1` });
    const post = await ledger.client(apiKey).request('POST', '/v1/webhook-endpoints', {
      body: huge,
      headers: { 'content-type': 'application/json', 'idempotency-key': key() },
    });
    expect([post.status, (post.body as { code: string }).code]).toEqual([403, 'role_forbidden']);
    for (const path of ['/v1/webhook-endpoints', '/v1/webhook-deliveries']) {
      const read = await ledger.client(apiKey).get(path);
      expect([read.status, read.body.code]).toEqual([403, 'role_forbidden']);
    }
  },
);

it('disables and enables an endpoint, each twice without harm; an unknown one is a 404', async () => {
  expect((await define(definition({ endpointId: 'toggle' }))).status).toBe(200);
  const admin = ledger.client(ADMIN.key);
  const off = await admin.command('/v1/webhook-endpoints/toggle/disable', {}, null);
  const offAgain = await admin.command('/v1/webhook-endpoints/toggle/disable', {}, null);
  expect([off.body.status, offAgain.body.disabledAt]).toEqual(['disabled', off.body.disabledAt]);
  const on = await admin.command('/v1/webhook-endpoints/toggle/enable', {}, null);
  expect([on.body.status, on.body.disabledAt]).toEqual(['enabled', null]);
  const unknown = await admin.command('/v1/webhook-endpoints/nobody/disable', {}, null);
  expect([unknown.status, unknown.body.code]).toEqual([404, 'webhook_endpoint_not_found']);
});

it('rotates the secret, keeping the old one signing for the window; the same secret again changes nothing', async () => {
  expect((await define(definition({ endpointId: 'rotating' }))).status).toBe(200);
  const admin = ledger.client(ADMIN.key);
  const rotate = (body: unknown, endpointId = 'rotating') =>
    admin.command(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, body, null);
  const next = 'whsec_api_next_secret_9876';
  const rotated = await rotate({ secret: next, previousSecretValidForSeconds: 600 });
  expect(rotated.status).toBe(200);
  expect(rotated.body).toMatchObject({ secretHint: '…9876', previousSecretHint: `…${SECRET.slice(-4)}` });
  const until = Date.parse(rotated.body.previousSecretUntil);
  expect(until - Date.parse(rotated.body.updatedAt)).toBe(600_000);
  // Sent again (a retry): the new secret does not become its own predecessor, nothing moves.
  const again = await rotate({ secret: next, previousSecretValidForSeconds: 5 });
  expect(again.body).toEqual(rotated.body);
  expect(JSON.stringify(again.body)).not.toContain(next);
  // No window: the replaced secret stops signing at once, and is no longer shown.
  const immediate = await rotate({ secret: 'whsec_api_third_secret_5555', previousSecretValidForSeconds: 0 });
  expect(immediate.body).toMatchObject({ secretHint: '…5555', previousSecretHint: null, previousSecretUntil: null });

  for (const [body, endpointId, status, code] of [
    [{ secret: 'short' }, 'rotating', 400, 'validation_failed'],
    [{ secret: next, previousSecretValidForSeconds: 8 * 24 * 3600 }, 'rotating', 400, 'validation_failed'],
    [{ secret: next, extra: true }, 'rotating', 400, 'validation_failed'],
    [{ secret: next }, 'nobody', 404, 'webhook_endpoint_not_found'],
  ] as const) {
    const refused = await rotate(body, endpointId);
    expect([refused.status, refused.body.code]).toEqual([status, code]);
  }
  const service = await ledger
    .client('service-key-all')
    .command('/v1/webhook-endpoints/rotating/rotate-secret', { secret: next }, null);
  expect([service.status, service.body.code]).toEqual([403, 'role_forbidden']);
});

it('pages the delivery log and refuses bad filters and ids with typed 4xx', async () => {
  const admin = ledger.client(ADMIN.key);
  const page = await admin.get('/v1/webhook-deliveries?limit=5');
  expect([page.status, page.body.deliveries, page.body.nextCursor]).toEqual([200, [], null]);
  for (const query of ['status=lost', 'limit=100000', 'cursor=bm90LWEtY3Vyc29y', 'endpointId=%00']) {
    const refused = await admin.get(`/v1/webhook-deliveries?${query}`);
    expect([query, refused.status]).toEqual([query, 400]);
  }
  const notUuid = await admin.command('/v1/webhook-deliveries/not-a-uuid/redeliver', {}, null);
  expect([notUuid.status, notUuid.body.code]).toEqual([400, 'validation_failed']);
  const unknown = await admin.command(
    '/v1/webhook-deliveries/00000000-0000-4000-8000-000000000000/redeliver',
    {},
    null,
  );
  expect([unknown.status, unknown.body.code]).toEqual([404, 'webhook_delivery_not_found']);
});

describe('outside development', () => {
  let production: TestLedger;
  beforeAll(async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db/ledger', NODE_ENV: 'production' });
    expect(config.webhooks.allowPrivateTargets).toBe(false);
    production = await startTestLedger({ apiKeysJson: KEYS, webhooks: config.webhooks });
  });
  afterAll(() => production?.close());

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'https://10.1.2.3/hook',
    'https://192.168.0.10/hook',
    'https://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
  ])('refuses the internal target %s', async (url) => {
    const { status, body } = await production
      .client(ADMIN.key)
      .command('/v1/webhook-endpoints', definition({ url }), key());
    expect([status, body.code]).toEqual([422, 'webhook_target_refused']);
  });

  it('takes a public one', async () => {
    const { status } = await production.client(ADMIN.key).command('/v1/webhook-endpoints', definition(), key());
    expect(status).toBe(200);
  });
});
