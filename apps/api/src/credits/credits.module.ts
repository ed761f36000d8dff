import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { CreditsController } from './credits.controller';
import { GrantScheduler } from './grant-scheduler';

@Module({
  imports: [CommandsModule],
  controllers: [CreditsController],
  providers: [...commandHandlers('GrantCredits', 'ExpireCredits'), GrantScheduler],
  exports: [GrantScheduler],
})
export class CreditsModule {}
