import { Module } from '@nestjs/common';
import { AccountCommandRunner } from './account-command-runner';
import { CommandGateway } from './command-gateway';
import { IdempotencyPruner } from './idempotency-pruner';
import { IdempotencyStore } from './idempotency-store';

@Module({
  providers: [AccountCommandRunner, CommandGateway, IdempotencyStore, IdempotencyPruner],
  exports: [AccountCommandRunner, CommandGateway, IdempotencyStore],
})
export class CommandsModule {}
