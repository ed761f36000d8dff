import { Module } from '@nestjs/common';
import { ProjectionsController } from './projections.controller';
import { ProjectionStatusHandler } from './projection-status.query';

@Module({ controllers: [ProjectionsController], providers: [ProjectionStatusHandler] })
export class ProjectionsModule {}
