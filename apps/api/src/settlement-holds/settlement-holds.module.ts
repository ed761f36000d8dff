import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { SettlementHoldsController } from './settlement-holds.controller';

@Module({
  imports: [CommandsModule],
  controllers: [SettlementHoldsController],
})
export class SettlementHoldsModule {}
