import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { ReadModelsModule } from '../read-models/read-models.module';
import { PreviewRunHandler } from './preview-run.query';
import { RunDetailsHandler } from './run-details.query';
import { RunsController } from './runs.controller';

@Module({
  imports: [CommandsModule, ReadModelsModule],
  controllers: [RunsController],
  providers: [
    ...commandHandlers('AcceptRun', 'CompleteRun', 'FailRun', 'CancelRun'),
    PreviewRunHandler,
    RunDetailsHandler,
  ],
})
export class RunsModule {}
