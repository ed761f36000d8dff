import { Module } from '@nestjs/common';
import { commandHandlers } from '../commands/command-messages';
import { CommandsModule } from '../commands/commands.module';
import { SettlementHoldsController } from './settlement-holds.controller';

@Module({
  imports: [CommandsModule],
  controllers: [SettlementHoldsController],
  providers: commandHandlers('PlaceSettlementHold', 'ReleaseSettlementHold'),
})
export class SettlementHoldsModule {}
