/** The OpenAPI document describes every endpoint the route tables declare, from the same schemas. */
import { commandTypes } from '@ledger/domain';
import { usageKinds } from '@ledger/projections';
import { commandRoutes } from '../src/commands/command-routes';
import { readRoutes } from '../src/read-models/read-routes';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';

let ledger: TestLedger;
beforeAll(async () => {
  ledger = await startTestLedger();
});
afterAll(async () => {
  await ledger?.close();
});

const openApiPath = (path: string) => `/v1/${path.replace(/:(\w+)/g, '{$1}')}`;

it('lists every command and every read, with their parameters', async () => {
  const { status, body } = await ledger.client('').get('/docs');
  expect(status).toBe(200);
  for (const type of commandTypes) {
    const operation = body.paths[openApiPath(commandRoutes[type].path)]?.post;
    expect([type, operation?.parameters.some((p: { name: string }) => p.name === 'Idempotency-Key')]).toEqual([
      type,
      true,
    ]);
  }
  for (const [name, route] of Object.entries(readRoutes)) {
    expect([name, typeof body.paths[openApiPath(route.path)]?.get]).toEqual([name, 'object']);
  }
  const usage = body.paths[openApiPath(readRoutes.usage.path)].get.parameters;
  const kind = usage.find((p: { name: string }) => p.name === 'kind');
  expect(kind.schema.enum).toEqual([...usageKinds]);
  expect(usage.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['accountId', 'project', 'kind', 'run', 'from', 'to', 'cursor', 'limit', 'atLeastPosition']),
  );
});
