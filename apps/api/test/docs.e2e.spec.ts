/** The OpenAPI document describes every endpoint the route tables declare, from the same schemas. */
import * as contract from '@ledger/contract';
import { commandTypes } from '@ledger/domain';
import { usageKinds } from '@ledger/projections';
import { z } from 'zod';
import { commandRoutes, PREVIEW_RUN_PATH } from '../src/commands/command-routes';
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

it('describes every 200 answer with its schema from the contract', async () => {
  const { body } = await ledger.client('').get('/docs');
  const resolve = (content: Record<string, { schema: { $ref: string } }>) => {
    const [media] = Object.values(content);
    return body.components.schemas[media!.schema.$ref.replace('#/components/schemas/', '')];
  };
  const asJson = (schema: z.ZodType) => {
    const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
    return json;
  };
  for (const [name, route] of Object.entries(readRoutes)) {
    const ok = body.paths[openApiPath(route.path)].get.responses['200'];
    expect([name, resolve(ok.content)]).toEqual([name, asJson(route.response)]);
  }
  const accept = body.paths[openApiPath(commandRoutes.AcceptRun.path)].post.responses['200'];
  expect(resolve(accept.content)).toEqual(asJson(contract.receipt));
  expect(resolve(accept.content).properties.buckets.required).toEqual([...contract.bucketNames]);
  const preview = body.paths[openApiPath(PREVIEW_RUN_PATH)].post.responses['200'];
  expect(resolve(preview.content)).toEqual(asJson(contract.quote));
  expect(body.paths[openApiPath(readRoutes.usageExport.path)].get.responses['200'].content).toHaveProperty('text/csv');
  expect(body.components.schemas.Error.properties.code.enum).toContain('account_not_found');
});
