import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { parsePosition } from '@ledger/event-store';
import type { AsOf } from '@ledger/projections';
import { z } from 'zod';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { identifier, instant } from '../read-models/read-query';
import { AuditBalance } from './audit-balance.query';
import { AuditEventsPage, decodeEventsCursor } from './audit-events.query';

/** `asOf`: an ISO-8601 instant, or a global position ("812/3") as receipts carry it; default now. */
const asOf = z.string().transform((text, ctx): AsOf => {
  const position = parsePosition(text);
  if (position) return { position };
  const parsed = instant.safeDecode(text);
  if (parsed.success) return { instant: parsed.data };
  ctx.issues.push({
    code: 'custom',
    message: 'asOf is an ISO-8601 instant (2026-11-05T12:00:00Z) or a position ("812/3")',
    input: text,
  });
  return z.NEVER;
});

const balanceQuery = z.object({ asOf: asOf.optional(), project: identifier.optional() });

const eventsQuery = z.object({
  from: instant.optional(),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const revision = decodeEventsCursor(text);
      if (revision === undefined)
        ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return revision ?? z.NEVER;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** For auditors: figures from events alone, and the events themselves. */
@Controller('v1/audit/accounts/:accountId')
@UseGuards(ApiKeyGuard)
export class AuditController {
  constructor(private readonly queries: QueryBus) {}

  @Get('balance')
  balance(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { asOf: at, project } = decodeInput(balanceQuery, query);
    return this.queries.execute(
      new AuditBalance(request.principal, accountId, at ?? { instant: new Date().toISOString() }, project),
    );
  }

  @Get('events')
  events(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { from, cursor, limit } = decodeInput(eventsQuery, query);
    return this.queries.execute(new AuditEventsPage(request.principal, accountId, from, cursor, limit));
  }
}
