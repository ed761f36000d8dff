import { Module } from '@nestjs/common';
import { ReadModelFreshness } from './freshness';

@Module({ providers: [ReadModelFreshness], exports: [ReadModelFreshness] })
export class ReadModelsModule {}
