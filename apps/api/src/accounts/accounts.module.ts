import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { AccountListHandler } from './account-list.query';
import { AccountsQueryController } from './accounts-query.controller';
import { AccountsController } from './accounts.controller';

@Module({
  imports: [CommandsModule],
  controllers: [AccountsController, AccountsQueryController],
  providers: [AccountListHandler],
})
export class AccountsModule {}
