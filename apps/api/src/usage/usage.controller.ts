import { Controller, Get, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { readRoutes } from '../read-models/read-routes';
import { UsageLedgerExport, type UsageCsv } from './usage-export.query';
import { UsageLedgerPage } from './usage-ledger.query';
import { usageExportQuery, usageQuery } from './usage-params';

/**
 * An attachment's name as RFC 6266 wants it: an ASCII fallback (anything else replaced) and the exact
 * name as RFC 5987 `filename*`, so no id can put a byte into the header that Node refuses to send.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  if (ascii === filename) return `attachment; filename="${filename}"`;
  try {
    return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
  } catch {
    return `attachment; filename="${ascii}"`; // not well-formed Unicode: the fallback alone
  }
}

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.usage.path)
  usage(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition, ...filters } = decodeInput(usageQuery, query);
    return this.queries.execute(new UsageLedgerPage(request.principal, accountId, filters, atLeastPosition));
  }

  @Get(readRoutes.usageExport.path)
  async usageCsv(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Param('accountId') accountId: string,
    @Query() query: unknown,
  ): Promise<void> {
    const { atLeastPosition, ...filters } = decodeInput(usageExportQuery, query);
    const csv = await this.queries.execute<UsageLedgerExport, UsageCsv>(
      new UsageLedgerExport(request.principal, accountId, filters, atLeastPosition),
    );
    // A failure mid-stream can only cut the download short: the status line is already sent, and
    // Fastify destroys the response. Awaiting the reply (it settles when the response has ended)
    // keeps Fastify from taking this handler's end for an empty answer.
    await reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', contentDisposition(csv.filename))
      .send(Readable.from(csv.lines));
  }
}
