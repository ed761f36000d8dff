import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { ProjectsController } from './projects.controller';

@Module({
  imports: [CommandsModule],
  controllers: [ProjectsController],
  providers: commandHandlers('AttachProject'),
})
export class ProjectsModule {}
