/**
 * Every answer the end-to-end tests get from the API is checked against the contract
 * (libs/contract): the route's schema for a 2xx, the rejection's for the rest. A handler whose
 * answer drifts from its schema — a field renamed, added or of another type — fails whichever
 * test read it, without any test asking. Routes outside the contract are listed by name.
 */
import * as contract from '@ledger/contract';
import { commandTypes } from '@ledger/domain';
import { z } from 'zod';
import { commandRoutes, PREVIEW_RUN_PATH } from '../../apps/api/src/commands/command-routes';
import { readRoutes } from '../../apps/api/src/read-models/read-routes';
import { webhookRoutes } from '../../apps/api/src/webhooks/webhook-routes';
import { LedgerClient, type LedgerResponse } from '@ledger/client';

interface ContractRoute {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  /** null: the answer is text (CSV), not JSON. */
  readonly schema: z.ZodType | null;
}

const patternOf = (path: string) => new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/:\w+/g, '[^/]+')}$`);

const routes: readonly ContractRoute[] = [
  { name: 'PreviewRun', method: 'POST', pattern: patternOf(`/v1/${PREVIEW_RUN_PATH}`), schema: contract.quote },
  ...commandTypes.map((type) => ({
    name: type,
    method: 'POST' as const,
    pattern: patternOf(`/v1/${commandRoutes[type].path}`),
    schema: contract.receipt,
  })),
  ...Object.entries(readRoutes).map(([name, route]) => ({
    name,
    method: 'GET' as const,
    pattern: patternOf(`/v1/${route.path}`),
    schema: 'mediaType' in route ? null : route.response,
  })),
  {
    name: 'workspaceSettings',
    method: 'GET',
    pattern: /^\/workspace\/config\.json$/,
    schema: contract.workspaceSettings,
  },
  { name: 'health', method: 'GET', pattern: /^\/health$/, schema: contract.health },
  ...Object.entries(webhookRoutes).map(([name, route]) => ({
    name,
    method: route.method,
    pattern: patternOf(`/v1/${route.path}`),
    schema: route.response,
  })),
  { name: 'commandBatch', method: 'POST', pattern: /^\/v1\/commands\/batch$/, schema: contract.commandBatchAnswer },
];

/** Answers outside the contract: the OpenAPI document, metrics, and the pages with their assets. */
const UNCHECKED = [/^\/$/, /^\/docs$/, /^\/metrics$/, /^\/workspace(\/.*)?$/];

export class ContractViolation extends Error {}

/** Throws a ContractViolation when the answer is not what the contract says this route gives. */
export function checkAnswer(method: string, url: string, answer: LedgerResponse<unknown>): void {
  const path = url.split('?')[0]!;
  const isJson = answer.headers.get('content-type')?.includes('application/json') ?? false;
  const where = `${method} ${path} answered ${answer.status}`;
  if (answer.status >= 400) {
    if (!isJson) throw new ContractViolation(`${where} without a JSON body: every error is { code, message, details }`);
    parseWith(contract.rejection, answer.body, `${where}, not a rejection of the contract`);
    return;
  }
  const route = routes.find((r) => r.method === method && r.pattern.test(path));
  if (!route) {
    if (UNCHECKED.some((pattern) => pattern.test(path))) return;
    throw new ContractViolation(`${where}: no route of the contract serves it (test/support/contract-check.ts)`);
  }
  if (route.schema === null) {
    if (typeof answer.body !== 'string' && answer.status !== 204)
      throw new ContractViolation(`${where} with JSON where the contract says text`);
    return;
  }
  if (!isJson) throw new ContractViolation(`${where} without JSON: ${route.name} answers JSON`);
  parseWith(route.schema, answer.body, `${where}, not the contract's ${route.name}`);
}

function parseWith(schema: z.ZodType, body: unknown, what: string): void {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ContractViolation(`${what}:\n${z.prettifyError(parsed.error)}`);
}

/** The tests' client: the ledger's own, with every answer checked against the contract. */
export class ContractCheckedClient extends LedgerClient {
  override async request<T>(
    method: string,
    path: string,
    options: { body?: string; headers?: Record<string, string> },
  ): Promise<LedgerResponse<T>> {
    const answer = await super.request<T>(method, path, options);
    checkAnswer(method, path, answer);
    return answer;
  }
}
