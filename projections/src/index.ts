import { alertsProjection } from './alerts';
import { balancesProjection } from './balances';
import { dailyProjection } from './daily';
import { grantsProjection } from './grants';
import type { Projection } from './projection';
import { runsProjection } from './runs';
import { usageProjection } from './usage';
import { webhooksProjection } from './webhooks';

export * from './read-models';
export type { ProjectedEvent, Projection } from './projection';
export { RowMemory, type RowRecall, type StagedRows } from './memory';
export { readModelMigrations, readModelPrimaryKeys, readModelTableNames } from './migrations';
export { toProjectedEvent } from './projected-event';
export { balancesProjection, grantsProjection, runsProjection, usageProjection, webhooksProjection };
// alerts (issue #17)
export { alertsProjection, alertHandlers, type AlertWrite } from './alerts';
export { alertFiredBody, webhookHandlers, WEBHOOKS_CHANNEL, type OutboxRow } from './webhooks';
export { dailyProjection, utcDayOf } from './daily';
export { grantHandlers, type GrantWrite } from './grants';
export { balanceHandlers, type BalanceWrite } from './balances';
export { runHandlers, type RunWrite } from './runs';
export { usageHandlers, type UsageEntry, type UsageWrite } from './usage';

/** Every projection the projector runs. */
export const projections: readonly Projection[] = [
  balancesProjection,
  usageProjection,
  runsProjection,
  grantsProjection,
  // alerts (issue #17)
  alertsProjection,
  webhooksProjection,
  dailyProjection,
];

export const projectionNames: readonly string[] = projections.map((projection) => projection.name);

/** The projection of that name; throws, naming the known ones, for any other. */
export function projectionNamed(name: string): Projection {
  const found = projections.find((projection) => projection.name === name);
  if (!found) throw new Error(`there is no projection "${name}"; the projections are ${projectionNames.join(', ')}`);
  return found;
}
export { usageRowOf, type UsageRow } from './usage';
export {
  AccountReplay,
  isWithin,
  replayAccount,
  zeroShare,
  type AsOf,
  type EventEffect,
  type ShareBuckets,
} from './replay';
export { replayAccountStream, type StreamReplay } from './replay-stream';
export { auditBalanceOf, bucketsText, shareText } from './audit-balance';
