/**
 * The OpenAPI document, derived from the route tables, the command schemas and the contract's
 * answer schemas (libs/contract): nothing restated.
 */
import * as contract from '@ledger/contract';
import { commandSchemas, commandTypes, previewRunSchema, rejectionCatalogue } from '@ledger/domain';
import { z } from 'zod';
import { COMMAND_BATCH_PATH } from '../commands/command-batch.controller';
import { commandRoutes, pathParamsOf, PREVIEW_RUN_PATH } from '../commands/command-routes';
import { httpStatusOf } from '../errors/ledger-http-error';
import { readRoutes, type ReadRoute } from '../read-models/read-routes';
import { webhookRoutes, type WebhookRoute } from '../webhooks/webhook-routes';

const toOpenApiPath = (path: string) => `/v1/${path.replace(/:(\w+)/g, '{$1}')}`;
const pathParams = pathParamsOf;

function bodySchema(schema: z.ZodObject, params: string[]) {
  const json = z.toJSONSchema(schema.omit(Object.fromEntries(params.map((p) => [p, true])) as never), {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** A body's JSON Schema, as the caller sends it. */
function inputSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** An answer's JSON Schema, as the caller receives it. */
function answerSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** A read's answer is named after its route: `auditBalance` answers an `AuditBalance`. */
const answerName = (route: string) => `${route[0]!.toUpperCase()}${route.slice(1)}`;

function operation(summary: string, tag: string, path: string, schema: z.ZodObject, idempotent: boolean) {
  const params = pathParams(path);
  return {
    post: {
      summary,
      tags: [tag],
      parameters: [
        ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...(idempotent
          ? [{ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', maxLength: 255 } }]
          : []),
      ],
      requestBody: { required: true, content: { 'application/json': { schema: bodySchema(schema, params) } } },
      responses: {
        '200': {
          description: idempotent ? 'Receipt' : 'Quote',
          content: { 'application/json': { schema: ref(idempotent ? 'Receipt' : 'Quote') } },
        },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

function readOperation(name: string, { summary, tag, path, query, mediaType }: ReadRoute) {
  const json = z.toJSONSchema(query, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return {
    get: {
      summary,
      tags: [tag],
      parameters: [
        ...pathParams(path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...Object.entries(json.properties ?? {}).map(([name, schema]) => ({
          name,
          in: 'query',
          required: json.required?.includes(name) ?? false,
          schema,
        })),
      ],
      responses: {
        '200': {
          description: mediaType === 'text/csv' ? 'CSV' : 'The read model',
          content: { [mediaType ?? 'application/json']: { schema: ref(answerName(name)) } },
        },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

/** The batch endpoint: its limits and its semantics are part of the contract, so they are written here. */
function batchOperation() {
  const command = z.toJSONSchema(contract.batchCommand, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete command.$schema;
  return {
    post: {
      summary: `Send up to ${contract.MAX_BATCH_COMMANDS} commands in one request, each answered on its own`,
      description: [
        `Each command names its type, its route's path parameters (params), its body and its own idempotency key,`,
        `and is answered exactly as its own route would answer it: a receipt (200) or a rejection (4xx/5xx), in`,
        `request order. Commands of one account are decided in request order and appended together; no command's`,
        `failure affects another's. The request itself is refused (400) only when it is not a list of 1 to`,
        `${contract.MAX_BATCH_COMMANDS} commands. A repeated idempotency key within a batch is answered 409.`,
        `Each command counts as one request against the key's rate limit: a batch the key cannot pay for whole`,
        `is refused (429 rate_limited) and nothing in it is decided.`,
      ].join(' '),
      tags: ['commands'],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['commands'],
              additionalProperties: false,
              properties: {
                commands: { type: 'array', minItems: 1, maxItems: contract.MAX_BATCH_COMMANDS, items: command },
              },
            },
          },
        },
      },
      responses: {
        '200': {
          description: 'One answer per command, in order',
          content: { 'application/json': { schema: ref('CommandBatchAnswer') } },
        },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

/** A webhook route (admin keys only): its body or query, and its answer, from the contract. */
function webhookOperation(name: string, { method, path, summary, query, body, idempotent }: WebhookRoute) {
  const queryJson = query
    ? (z.toJSONSchema(query, { io: 'input', unrepresentable: 'any' }) as {
        properties?: Record<string, Record<string, unknown>>;
        required?: string[];
      })
    : {};
  return {
    [method.toLowerCase()]: {
      summary: `${summary} (admin keys)`,
      tags: ['webhooks'],
      parameters: [
        ...pathParams(path).map((param) => ({ name: param, in: 'path', required: true, schema: { type: 'string' } })),
        ...Object.entries(queryJson.properties ?? {}).map(([param, schema]) => ({
          name: param,
          in: 'query',
          required: queryJson.required?.includes(param) ?? false,
          schema,
        })),
        ...(idempotent
          ? [{ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', maxLength: 255 } }]
          : []),
      ],
      ...(body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: inputSchema(body),
                },
              },
            },
          }
        : {}),
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: ref(answerName(name)) } } },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

export function openApiDocument() {
  const paths: Record<string, unknown> = {
    [toOpenApiPath(PREVIEW_RUN_PATH)]: operation(
      'Preview a run: the AcceptRun checks and quote, appending nothing',
      'runs',
      PREVIEW_RUN_PATH,
      previewRunSchema,
      false,
    ),
  };
  for (const type of commandTypes) {
    const route = commandRoutes[type];
    paths[toOpenApiPath(route.path)] = operation(route.summary, route.tag, route.path, commandSchemas[type], true);
  }
  paths[`/v1/${COMMAND_BATCH_PATH}`] = batchOperation();
  const answers: Record<string, unknown> = {
    Receipt: answerSchema(contract.receipt),
    Quote: answerSchema(contract.quote),
    CommandBatchAnswer: answerSchema(contract.commandBatchAnswer),
  };
  for (const [name, route] of Object.entries(readRoutes) as Array<[string, ReadRoute]>) {
    // A path may serve a command (POST) and a read (GET): keep both operations.
    const path = toOpenApiPath(route.path);
    paths[path] = { ...(paths[path] as object), ...readOperation(name, route) };
    answers[answerName(name)] = answerSchema(route.response);
  }
  for (const [name, route] of Object.entries(webhookRoutes) as Array<[string, WebhookRoute]>) {
    const path = toOpenApiPath(route.path);
    paths[path] = { ...(paths[path] as object), ...webhookOperation(name, route) };
    answers[answerName(name)] = answerSchema(route.response);
  }
  answers.AlertFiredDelivery = {
    ...answerSchema(contract.alertFiredDelivery),
    description:
      'The JSON body POSTed to an endpoint for each alert, with the header ' +
      '"Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>".',
  };
  const error = answerSchema(contract.rejection) as { properties: Record<string, Record<string, unknown>> };
  error.properties.code!.description = Object.entries(rejectionCatalogue)
    .map(([code, spec]) => `${code} (${httpStatusOf(code as never)}): ${spec.summary}`)
    .join('\n');
  return {
    openapi: '3.1.0',
    info: { title: 'Credit ledger', version: '1', description: 'Commands are idempotent; money is a decimal string.' },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: error,
        ...answers,
      },
    },
    security: [{ apiKey: [] }],
    paths,
  };
}
