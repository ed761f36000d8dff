import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../read-models/read-models.module';
import { AccountOverviewHandler } from './account-overview.query';
import { OverviewController } from './overview.controller';

@Module({ imports: [ReadModelsModule], controllers: [OverviewController], providers: [AccountOverviewHandler] })
export class OverviewModule {}
