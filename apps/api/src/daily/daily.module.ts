import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../read-models/read-models.module';
import { DailyController } from './daily.controller';
import { AccountDailyFiguresHandler } from './daily-figures.query';

@Module({ imports: [ReadModelsModule], controllers: [DailyController], providers: [AccountDailyFiguresHandler] })
export class DailyModule {}
