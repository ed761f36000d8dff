import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../read-models/read-models.module';
import { UsageController } from './usage.controller';
import { UsageLedgerExportHandler } from './usage-export.query';
import { UsageLedgerPageHandler } from './usage-ledger.query';

@Module({
  imports: [ReadModelsModule],
  controllers: [UsageController],
  providers: [UsageLedgerPageHandler, UsageLedgerExportHandler],
})
export class UsageModule {}
