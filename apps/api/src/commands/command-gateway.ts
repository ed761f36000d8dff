/**
 * The path every HTTP command takes: idempotency key → first answer, or decode → CommandBus →
 * receipt, with the answer stored against the key before it is returned.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { commandSchemas, reject, type CommandType } from '@ledger/domain';
import { headerOf } from '../edge/request';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { ReplayedAnswer } from '../errors/error.filter';
import type { AuthenticatedRequest } from '../identity/auth.guard';
import { commandInput, decodeInput, requestHash } from './command-input';
import { commandMessages } from './command-messages';
import { IdempotencyStore } from './idempotency-store';
import type { ReceiptJson } from './receipt';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Rejections that say "try again", which must not be stored as the key's first answer. */
const TRANSIENT = new Set(['concurrency_exhausted']);

@Injectable()
export class CommandGateway {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly idempotency: IdempotencyStore,
  ) {}

  async send(type: CommandType, request: AuthenticatedRequest): Promise<ReceiptJson> {
    const key = headerOf(request, 'idempotency-key');
    if (key === undefined || key === '') throw new LedgerHttpError(reject('idempotency_key_missing'));
    if (!KEY_PATTERN.test(key)) {
      throw new LedgerHttpError(reject('validation_failed', 'Idempotency-Key is 1–255 printable ASCII characters'));
    }
    const { principal } = request;
    const input = commandInput(request.params as Record<string, string>, request.body);
    const hash = requestHash(type, input);

    const claim = await this.idempotency.claim(principal.id, key, hash, type);
    if (claim.kind !== 'claimed' && claim.requestHash !== hash) {
      throw new LedgerHttpError(
        reject('idempotency_key_reused', `Idempotency-Key "${key}" was first used for a different request`),
      );
    }
    if (claim.kind === 'answered') throw new ReplayedAnswer(claim.status, claim.body);
    if (claim.kind === 'in_flight') throw new LedgerHttpError(reject('idempotency_key_in_flight'));

    try {
      const command = { type, ...decodeInput(commandSchemas[type], input) };
      const commandId = randomUUID();
      const correlationId = headerOf(request, 'x-correlation-id') || commandId;
      const receipt: ReceiptJson = await this.commandBus.execute(
        new commandMessages[type](command as never, {
          principal,
          idempotencyKey: key,
          requestHash: hash,
          commandId,
          correlationId,
          causationId: headerOf(request, 'x-causation-id') || correlationId,
          now: new Date().toISOString(),
        }),
      );
      await this.idempotency.answer(principal.id, key, 200, receipt);
      return receipt;
    } catch (error) {
      if (error instanceof LedgerHttpError && error.status < 500 && !TRANSIENT.has(error.body.code)) {
        await this.idempotency.answer(principal.id, key, error.status, error.body);
      } else {
        await this.idempotency.release(principal.id, key).catch(() => undefined);
      }
      throw error;
    }
  }
}
