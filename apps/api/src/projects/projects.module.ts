import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { ReadModelsModule } from '../read-models/read-models.module';
import { ProjectBucketsHandler } from './project-buckets.query';
import { ProjectsQueryController } from './projects-query.controller';
import { ProjectsController } from './projects.controller';

@Module({
  imports: [CommandsModule, ReadModelsModule],
  controllers: [ProjectsController, ProjectsQueryController],
  providers: [ProjectBucketsHandler],
})
export class ProjectsModule {}
