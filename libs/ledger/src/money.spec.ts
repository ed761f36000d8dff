import fc from 'fast-check';
import {
  CREDIT_SCALE,
  creditValueInFen,
  creditValueInYuan,
  formatCredits,
  formatYuan,
  parseCredits,
  parseFen,
} from './money';

describe('credits', () => {
  it.each([
    ['24', 24n * CREDIT_SCALE],
    ['0.35', 3500n],
    ['0.0001', 1n],
    ['10.5000', 105000n],
    ['007', 7n * CREDIT_SCALE],
  ])('parses %s exactly', (text, minor) => {
    expect(parseCredits(text)).toEqual({ ok: true, value: minor });
  });

  it.each([
    [24, 'amount_invalid'],
    ['24.', 'amount_invalid'],
    ['1e3', 'amount_invalid'],
    [' 1', 'amount_invalid'],
    [null, 'amount_invalid'],
    ['0.00001', 'amount_too_precise'],
    ['-1', 'amount_negative'],
    ['0', 'amount_not_positive'],
    ['0.0000', 'amount_not_positive'],
    ['1000000000001', 'amount_too_large'],
  ])('rejects %p as %s', (input, problem) => {
    const parsed = parseCredits(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toBe(problem);
  });

  it('allows zero where asked', () => {
    expect(parseCredits('0', { positive: false })).toEqual({ ok: true, value: 0n });
  });

  it('formats and parses back any amount unchanged', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 16n }), (minor) => {
        const parsed = parseCredits(formatCredits(minor));
        return parsed.ok && parsed.value === minor;
      }),
    );
  });

  it('fen are whole numbers', () => {
    expect(parseFen('10000')).toEqual({ ok: true, value: 10000n });
    expect(parseFen('1.5')).toMatchObject({ ok: false, problem: 'amount_too_precise' });
  });

  it('values credits in whole fen, rounded down, never more than the exact value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 6n }), (amount, price) => {
        const fen = creditValueInFen(amount, price);
        // fen ≤ amount × price / 10^4 < fen + 1, compared exactly in minor units
        expect(fen * CREDIT_SCALE <= amount * price).toBe(true);
        expect((fen + 1n) * CREDIT_SCALE > amount * price).toBe(true);
        expect(creditValueInYuan(amount, price)).toBe(formatYuan(fen));
      }),
    );
    // the case: 3.0001 credits at 33 fen are 99.0033 fen, shown as 99
    expect(creditValueInFen(30001n, 33n)).toBe(99n);
    expect(creditValueInYuan(80000n, 100n)).toBe('8');
    expect(creditValueInYuan(30001n, 33n)).toBe('0.99');
  });
});
