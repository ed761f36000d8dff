import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { PreviewRunHandler } from './preview-run.query';
import { RunsController } from './runs.controller';

@Module({
  imports: [CommandsModule],
  controllers: [RunsController],
  providers: [...commandHandlers('AcceptRun', 'CompleteRun', 'FailRun', 'CancelRun'), PreviewRunHandler],
})
export class RunsModule {}
