import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { SubscriptionsController } from './subscriptions.controller';

@Module({
  imports: [CommandsModule],
  controllers: [SubscriptionsController],
  providers: commandHandlers('StartSubscription', 'ChangePlan', 'RenewSubscriptionPeriod'),
})
export class SubscriptionsModule {}
