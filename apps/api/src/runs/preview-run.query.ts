/** PreviewRun on the QueryBus: the AcceptRun checks and quote against current state, appending nothing. */
import { Injectable } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Quote } from '@ledger/contract';
import { formatCredits, formatFen, previewRun, type Principal, type PreviewRunQuery } from '@ledger/domain';
import { accountStreamId } from '@ledger/event-store';
import { AccountCommandRunner } from '../commands/account-command-runner';
import { LedgerHttpError } from '../errors/ledger-http-error';

export class PreviewRun {
  constructor(
    readonly query: PreviewRunQuery,
    readonly principal: Principal,
    readonly now: string,
  ) {}
}

/** The quote's shape is the contract's (libs/contract). */
export type QuoteJson = Quote;

@Injectable()
@QueryHandler(PreviewRun)
export class PreviewRunHandler implements IQueryHandler<PreviewRun, QuoteJson> {
  constructor(private readonly runner: AccountCommandRunner) {}

  async execute({ query, principal, now }: PreviewRun): Promise<QuoteJson> {
    const preview = await this.runner.readCommitted(
      query.accountId,
      (account) =>
        this.runner.archivedIds.prepare([
          { streamId: accountStreamId(query.accountId), state: account.state, commands: [query] },
        ]),
      (account) => previewRun(account.state, query, { principal, now }),
    );
    if (!preview.ok) throw new LedgerHttpError(preview.rejection);
    const { quote } = preview;
    return {
      estimatedCost: formatCredits(quote.estimatedCost),
      available: formatCredits(quote.available),
      availableAfter: formatCredits(quote.availableAfter),
      creditPriceFen: formatFen(quote.creditPriceFen),
      estimatedValueFen: formatFen(quote.estimatedValueFen),
    };
  }
}
