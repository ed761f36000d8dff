import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../read-models/read-models.module';
import { UsageController } from './usage.controller';
import { UsageLedgerPageHandler } from './usage-ledger.query';

@Module({ imports: [ReadModelsModule], controllers: [UsageController], providers: [UsageLedgerPageHandler] })
export class UsageModule {}
