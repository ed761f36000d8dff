import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { SubscriptionsController } from './subscriptions.controller';

@Module({
  imports: [CommandsModule],
  controllers: [SubscriptionsController],
})
export class SubscriptionsModule {}
