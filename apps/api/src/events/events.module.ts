import { Module } from '@nestjs/common';
import { AccountEventHandler } from './account-event.query';
import { EventsController } from './events.controller';

@Module({ controllers: [EventsController], providers: [AccountEventHandler] })
export class EventsModule {}
