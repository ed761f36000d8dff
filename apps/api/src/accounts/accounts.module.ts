import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { AccountsController } from './accounts.controller';

@Module({
  imports: [CommandsModule],
  controllers: [AccountsController],
  providers: commandHandlers('OpenBillingAccount', 'SuspendAccount', 'ReactivateAccount', 'CloseBillingAccount'),
})
export class AccountsModule {}
