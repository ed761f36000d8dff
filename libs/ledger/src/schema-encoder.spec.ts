import { z } from 'zod';
import { credits, instant } from './fields';
import { compileEncoder } from './schema-encoder';

describe('encoders compiled from schemas', () => {
  const schema = z.object({
    id: z.string(),
    amount: credits,
    at: instant.nullable(),
    draws: z.array(z.object({ amount: credits, kind: z.enum(['a', 'b']) })),
  });

  it('give what the schema encodes, and leave out fields the schema does not know', () => {
    const value = {
      id: 'x',
      amount: 12_345n,
      at: null,
      draws: [{ amount: 1n, kind: 'a' as const }],
      extra: 'dropped',
    };
    const encoded = compileEncoder(schema)(value);
    expect(encoded).toEqual(schema.encode(value));
    expect(encoded).not.toHaveProperty('extra');
  });

  it('refuse, when compiled, a schema kind they do not understand', () => {
    expect(() => compileEncoder(z.object({ when: z.date() }), 'Sample')).toThrow(
      'Sample.when: no encoder for zod kind "date"',
    );
    expect(() => compileEncoder(z.string().transform((text) => text.length))).toThrow('one-way transform');
  });
});
