import { Module } from '@nestjs/common';
import { AccountCommandRunner } from './account-command-runner';
import { CommandBatchController } from './command-batch.controller';
import { CommandGateway } from './command-gateway';
import { CommandOwner } from './command-owner';
import { IdempotencyPruner } from './idempotency-pruner';
import { IdempotencyStore } from './idempotency-store';

@Module({
  controllers: [CommandBatchController],
  providers: [AccountCommandRunner, CommandGateway, CommandOwner, IdempotencyStore, IdempotencyPruner],
  exports: [AccountCommandRunner, CommandGateway, IdempotencyStore],
})
export class CommandsModule {}
