/**
 * The webhook routes (admin keys only): the one table the controller, the edge's admin check and
 * the OpenAPI document read.
 */
import * as contract from '@ledger/contract';
import { z } from 'zod';

export interface WebhookRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly summary: string;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly idempotent?: boolean;
  readonly response: z.ZodType;
}

export const webhookRoutes = {
  defineEndpoint: {
    method: 'POST',
    path: 'webhook-endpoints',
    summary: 'Define a webhook endpoint: where to POST which events, signed with which secret',
    body: contract.webhookEndpointDefinition,
    idempotent: true,
    response: contract.webhookEndpoint,
  },
  listEndpoints: {
    method: 'GET',
    path: 'webhook-endpoints',
    summary: 'The webhook endpoints, by id (secrets are never shown)',
    query: contract.webhookQueries.endpoints,
    response: contract.webhookEndpointList,
  },
  disableEndpoint: {
    method: 'POST',
    path: 'webhook-endpoints/:endpointId/disable',
    summary: 'Disable an endpoint: nothing is sent to it, its pending deliveries wait',
    response: contract.webhookEndpoint,
  },
  enableEndpoint: {
    method: 'POST',
    path: 'webhook-endpoints/:endpointId/enable',
    summary: 'Enable a disabled endpoint again: its pending deliveries resume',
    response: contract.webhookEndpoint,
  },
  rotateSecret: {
    method: 'POST',
    path: 'webhook-endpoints/:endpointId/rotate-secret',
    summary:
      'Replace the signing secret; deliveries carry a signature with the replaced one too for a while (24 h by default)',
    body: contract.webhookSecretRotation,
    response: contract.webhookEndpoint,
  },
  listDeliveries: {
    method: 'GET',
    path: 'webhook-deliveries',
    summary: 'The delivery log, newest first: each delivery with its attempts',
    query: contract.webhookQueries.deliveries,
    response: contract.webhookDeliveryPage,
  },
  redeliver: {
    method: 'POST',
    path: 'webhook-deliveries/:deliveryId/redeliver',
    summary: 'Deliver again now (a failed or delivered one too); its retry horizon starts afresh',
    response: contract.webhookDelivery,
  },
} as const satisfies Record<string, WebhookRoute>;

/** Every webhook route's path starts so, in any letter case: the edge refuses other roles before the body. */
export const WEBHOOK_ROUTE_PREFIX = /^\/v1\/webhook-(endpoints|deliveries)(\/|$)/i;
