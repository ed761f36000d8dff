import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditBalanceHandler } from './audit-balance.query';
import { AuditEventsPageHandler } from './audit-events.query';

@Module({ controllers: [AuditController], providers: [AuditBalanceHandler, AuditEventsPageHandler] })
export class AuditModule {}
