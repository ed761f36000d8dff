import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { WebhookEndpoint } from '@ledger/contract';
import { reject, type Principal } from '@ledger/domain';
import { isInternalHost, type LedgerConfig } from '@ledger/platform';
import { z } from 'zod';
import { decodeInput, requestHash } from '../commands/command-input';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { headerOf } from '../edge/request';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { CONFIG } from '../infrastructure/tokens';
import { DEFINE_ENDPOINT, WebhookStore } from './webhook-store';
import { webhookRoutes } from './webhook-routes';

/** The edge refuses other roles before the body is read; this says it again where the work is. */
function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') {
    throw new LedgerHttpError(
      reject('role_forbidden', `a ${principal.role} key may not manage webhooks; they are for admin keys`, {
        check: 'role',
      }),
    );
  }
}

const deliveryId = z.uuid();

/** Webhook endpoints and the delivery log, for admin keys. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class WebhooksController {
  constructor(
    private readonly store: WebhookStore,
    @Inject(CONFIG) private readonly config: LedgerConfig,
  ) {}

  @Post(webhookRoutes.defineEndpoint.path)
  @HttpCode(200)
  async define(@Req() request: AuthenticatedRequest, @Body() body: unknown): Promise<WebhookEndpoint> {
    assertAdmin(request.principal);
    const key = headerOf(request, 'idempotency-key');
    if (key === undefined || key === '') throw new LedgerHttpError(reject('idempotency_key_missing'));
    const definition = decodeInput(webhookRoutes.defineEndpoint.body, body ?? {});
    if (!this.config.webhooks.allowPrivateTargets && isInternalHost(new URL(definition.url).hostname)) {
      throw new LedgerHttpError(
        reject('webhook_target_refused', `${new URL(definition.url).hostname} is an internal address`, {
          field: 'url',
        }),
      );
    }
    const answer = await this.store.define(
      request.principal.id,
      key,
      requestHash(DEFINE_ENDPOINT, definition),
      definition,
    );
    if (answer.status !== 200) {
      const { code, message, details } = answer.body as LedgerHttpError['body'];
      throw new LedgerHttpError({ code, message, details });
    }
    return answer.body as WebhookEndpoint;
  }

  @Get(webhookRoutes.listEndpoints.path)
  list(@Req() request: AuthenticatedRequest, @Query() query: unknown) {
    assertAdmin(request.principal);
    const { after, limit } = decodeInput(webhookRoutes.listEndpoints.query, query);
    return this.store.list(after, limit);
  }

  @Post(webhookRoutes.disableEndpoint.path)
  @HttpCode(200)
  disable(@Req() request: AuthenticatedRequest, @Param('endpointId') endpointId: string) {
    assertAdmin(request.principal);
    return this.store.setEnabled(endpointId, false);
  }

  @Post(webhookRoutes.enableEndpoint.path)
  @HttpCode(200)
  enable(@Req() request: AuthenticatedRequest, @Param('endpointId') endpointId: string) {
    assertAdmin(request.principal);
    return this.store.setEnabled(endpointId, true);
  }

  @Post(webhookRoutes.rotateSecret.path)
  @HttpCode(200)
  rotateSecret(
    @Req() request: AuthenticatedRequest,
    @Param('endpointId') endpointId: string,
    @Body() body: unknown,
  ): Promise<WebhookEndpoint> {
    assertAdmin(request.principal);
    return this.store.rotateSecret(endpointId, decodeInput(webhookRoutes.rotateSecret.body, body ?? {}));
  }

  @Get(webhookRoutes.listDeliveries.path)
  deliveries(@Req() request: AuthenticatedRequest, @Query() query: unknown) {
    assertAdmin(request.principal);
    return this.store.deliveries(decodeInput(webhookRoutes.listDeliveries.query, query));
  }

  @Post(webhookRoutes.redeliver.path)
  @HttpCode(200)
  redeliver(@Req() request: AuthenticatedRequest, @Param('deliveryId') id: string) {
    assertAdmin(request.principal);
    if (!deliveryId.safeParse(id).success) {
      throw new LedgerHttpError(
        reject('validation_failed', 'the path’s deliveryId is not a delivery id (a UUID)', { parameter: 'deliveryId' }),
      );
    }
    return this.store.redeliver(id);
  }
}
