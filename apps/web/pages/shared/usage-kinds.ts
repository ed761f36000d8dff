/** The usage ledger's kinds, as the pages name them. Keyed by the read model's own list of kinds. */
import type { UsageKind } from './api-types';

export const usageKindLabels: Record<UsageKind, string> = {
  grant: 'Grant',
  reservation: 'Reservation',
  release: 'Release',
  consumption: 'Consumption',
  overrun: 'Overrun',
  commercial_exception: 'Commercial exception',
  hold_placed: 'Hold placed',
  hold_released: 'Hold released',
  expiry: 'Expiry',
};

export const usageKinds = Object.keys(usageKindLabels) as UsageKind[];
