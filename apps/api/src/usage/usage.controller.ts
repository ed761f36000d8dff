import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { usageKinds } from '@ledger/projections';
import { z } from 'zod';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { freshness, identifier, instant, projectFilter } from '../read-models/read-query';
import { decodeCursor } from './usage-cursor';
import { UsageLedgerPage } from './usage-ledger.query';

const usageQuery = z.object({
  ...projectFilter,
  ...freshness,
  kind: z.enum(usageKinds).optional(),
  run: identifier.optional(),
  from: instant.optional(),
  to: instant.optional(),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (!cursor) ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return cursor ?? z.NEVER;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

@Controller('v1/accounts/:accountId')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly queries: QueryBus) {}

  @Get('usage')
  usage(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition, ...filters } = decodeInput(usageQuery, query);
    return this.queries.execute(new UsageLedgerPage(request.principal, accountId, filters, atLeastPosition));
  }
}
