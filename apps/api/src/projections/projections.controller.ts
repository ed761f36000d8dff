import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiKeyGuard } from '../identity/auth.guard';
import { readRoutes } from '../read-models/read-routes';
import { ProjectionStatus, type ProjectionStatusResult } from './projection-status.query';

type Status = ProjectionStatusResult;

@Controller()
export class ProjectionsController {
  constructor(private readonly queries: QueryBus) {}

  @Get(`v1/${readRoutes.projections.path}`)
  @UseGuards(ApiKeyGuard)
  status(): Promise<Status> {
    return this.queries.execute(new ProjectionStatus(new Date()));
  }

  /** The same figures for a Prometheus scrape. */
  @Get('metrics')
  @Header('content-type', 'text/plain; charset=utf-8; version=0.0.4')
  async metrics(): Promise<string> {
    const { projections, eventStore } = await this.queries.execute<ProjectionStatus, Status>(
      new ProjectionStatus(new Date()),
    );
    const lines = [
      '# HELP ledger_event_store_up 1 when the event store answered this scrape.',
      '# TYPE ledger_event_store_up gauge',
      `ledger_event_store_up ${eventStore.status === 'ok' ? 1 : 0}`,
      '# HELP ledger_projection_lag_events Events in the store a projection has not applied yet.',
      '# TYPE ledger_projection_lag_events gauge',
      ...projections.flatMap((p) =>
        p.lagEvents === null ? [] : [`ledger_projection_lag_events{projection="${p.name}"} ${p.lagEvents}`],
      ),
      '# HELP ledger_projection_lag_seconds How long the oldest unapplied event has waited.',
      '# TYPE ledger_projection_lag_seconds gauge',
      ...projections.map((p) => `ledger_projection_lag_seconds{projection="${p.name}"} ${p.lagMs / 1000}`),
      '# HELP ledger_projection_failed 1 when a projection stopped on an event it could not apply.',
      '# TYPE ledger_projection_failed gauge',
      ...projections.map((p) => `ledger_projection_failed{projection="${p.name}"} ${p.failure ? 1 : 0}`),
      '# HELP ledger_projection_events_applied_total Events a projection has applied.',
      '# TYPE ledger_projection_events_applied_total counter',
      ...projections.map((p) => `ledger_projection_events_applied_total{projection="${p.name}"} ${p.eventsApplied}`),
    ];
    return `${lines.join('\n')}\n`;
  }
}
