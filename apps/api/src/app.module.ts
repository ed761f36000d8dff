import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AccountsModule } from './accounts/accounts.module';
import { AlertsModule } from './alerts/alerts.module';
import { AuditModule } from './audit/audit.module';
import { CreditsModule } from './credits/credits.module';
import { DailyModule } from './daily/daily.module';
import { DocsModule } from './docs/docs.controller';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.controller';
import { IdentityModule } from './identity/identity.module';
import { InfrastructureModule, type Infrastructure } from './infrastructure/infrastructure.module';
import { OverviewModule } from './overview/overview.module';
import { ProjectionsModule } from './projections/projections.module';
import { ProjectsModule } from './projects/projects.module';
import { RunsModule } from './runs/runs.module';
import { SettlementHoldsModule } from './settlement-holds/settlement-holds.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { UsageModule } from './usage/usage.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkspaceModule } from './workspace/workspace.module';

@Module({})
export class AppModule {
  static with(infrastructure: Infrastructure): DynamicModule {
    return {
      module: AppModule,
      imports: [
        InfrastructureModule.forRoot(infrastructure),
        CqrsModule.forRoot(),
        AccountsModule,
        SubscriptionsModule,
        ProjectsModule,
        CreditsModule,
        RunsModule,
        SettlementHoldsModule,
        AlertsModule,
        OverviewModule,
        DailyModule,
        UsageModule,
        EventsModule,
        IdentityModule,
        ProjectionsModule,
        AuditModule,
        HealthModule,
        DocsModule,
        WebhooksModule,
        WorkspaceModule,
      ],
    };
  }
}
