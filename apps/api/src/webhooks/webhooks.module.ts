import { Module } from '@nestjs/common';
import { WebhookStore } from './webhook-store';
import { WebhooksController } from './webhooks.controller';

@Module({ controllers: [WebhooksController], providers: [WebhookStore] })
export class WebhooksModule {}
