/** Every "no" the API gives, whatever the route: `{ code, message, details }`. */
import { rejectionCatalogue, type RejectionCode } from '@ledger/domain';
import { z } from 'zod';

const codes = Object.keys(rejectionCatalogue) as [RejectionCode, ...RejectionCode[]];

export const rejection = z.strictObject({
  code: z.enum(codes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export type RejectionBody = z.output<typeof rejection>;
