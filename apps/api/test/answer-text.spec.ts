/**
 * Receipts are serialised once and their text reused, for the key's stored answer and in the batch
 * endpoint's answer: the text must be exactly what serialising the objects would have given.
 */
import fc from 'fast-check';
import { commandTypes } from '@ledger/domain';
import type { Answer } from '../src/commands/command-gateway';
import { batchAnswerJson } from '../src/commands/command-batch.controller';
import { ReceiptText, type ReceiptJson } from '../src/commands/receipt';

/** Text with what JSON must escape: quotes, backslashes, control characters, NUL, lone surrogates. */
const awkwardText = fc.string({ unit: 'binary', maxLength: 24 });

const jsonValue = fc.jsonValue({ maxDepth: 3 });

const receiptArb: fc.Arbitrary<ReceiptJson> = fc.record({
  commandType: fc.constantFrom(...commandTypes),
  commandId: awkwardText,
  accountId: awkwardText,
  events: fc.array(fc.record({ eventId: awkwardText, type: awkwardText, revision: awkwardText, data: jsonValue }), {
    maxLength: 4,
  }),
  revision: fc.option(awkwardText),
  position: fc.constant(null),
  buckets: fc.dictionary(fc.constantFrom('included', 'available', 'reserved', 'consumed'), awkwardText),
  settlement: fc.option(fc.record({ thresholdFen: awkwardText, heldValueFen: awkwardText, reached: fc.boolean() })),
}) as fc.Arbitrary<ReceiptJson>;

it('writes a receipt with its position exactly as JSON.stringify would', () => {
  fc.assert(
    fc.property(receiptArb, fc.option(awkwardText), (receipt, position) => {
      const text = new ReceiptText(receipt);
      expect(text.withPosition(position)).toBe(JSON.stringify({ ...receipt, position }));
      expect(text.withPosition(null)).toBe(JSON.stringify(receipt));
    }),
    { numRuns: 300 },
  );
});

it("writes a batch's answer exactly as JSON.stringify would, with or without each body's text", () => {
  const answerArb: fc.Arbitrary<Answer> = fc.oneof(
    fc.record({ status: fc.constantFrom(400, 402, 409, 422, 500), body: jsonValue }),
    fc.tuple(receiptArb, fc.option(awkwardText)).map(([receipt, position]) => ({
      status: 200,
      body: { ...receipt, position },
      json: new ReceiptText(receipt).withPosition(position),
    })),
  );
  fc.assert(
    fc.property(fc.array(answerArb, { maxLength: 6 }), (results) => {
      const expected = JSON.stringify({ results: results.map(({ status, body }) => ({ status, body })) });
      expect(batchAnswerJson(results)).toBe(expected);
    }),
    { numRuns: 300 },
  );
});
