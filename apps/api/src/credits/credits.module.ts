import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { CreditsController } from './credits.controller';
import { GrantScheduler } from './grant-scheduler';

@Module({
  imports: [CommandsModule],
  controllers: [CreditsController],
  providers: [GrantScheduler],
  exports: [GrantScheduler],
})
export class CreditsModule {}
