import fc from 'fast-check';
import { formatAmount, formatInstant } from './amounts';

describe('formatAmount', () => {
  it('groups the whole part in thousands and keeps the fraction as sent', () => {
    expect(formatAmount('432')).toBe('432');
    expect(formatAmount('1234567.0125')).toBe('1,234,567.0125');
    expect(formatAmount('-1000')).toBe('-1,000');
  });

  it('changes nothing but the separators, for any decimal string (no float in between)', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.stringMatching(/^\d{1,4}$/)))
      .map(([negative, whole, fraction]) => `${negative ? '-' : ''}${whole}${fraction === null ? '' : `.${fraction}`}`);
    fc.assert(
      fc.property(decimal, (text) => {
        const shown = formatAmount(text);
        expect(shown.replace(/,/g, '')).toBe(text);
        expect(shown.split('.')[0]?.replace('-', '')).toMatch(/^\d{1,3}(,\d{3})*$/);
      }),
    );
  });

  it('leaves what is not a decimal string alone', () => {
    expect(formatAmount('n/a')).toBe('n/a');
  });
});

describe('formatInstant', () => {
  it('shows minutes in UTC', () => {
    expect(formatInstant('2026-11-29T08:05:59.123Z')).toBe('2026-11-29 08:05 UTC');
  });
});
