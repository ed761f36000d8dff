import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { ReadModelsModule } from '../read-models/read-models.module';
import { AccountAlertRulesHandler } from './alert-rules.query';
import { AlertsController } from './alerts.controller';

@Module({
  imports: [CommandsModule, ReadModelsModule],
  controllers: [AlertsController],
  providers: [AccountAlertRulesHandler],
})
export class AlertsModule {}
