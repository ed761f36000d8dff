import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { ReadModelsModule } from '../read-models/read-models.module';
import { PreviewRunHandler } from './preview-run.query';
import { RunDetailsHandler } from './run-details.query';
import { RunsController } from './runs.controller';

@Module({
  imports: [CommandsModule, ReadModelsModule],
  controllers: [RunsController],
  providers: [PreviewRunHandler, RunDetailsHandler],
})
export class RunsModule {}
