/**
 * An encoder compiled once from a zod schema: the same JSON as `schema.encode(value)` for a value
 * of the schema's output type, without checking that value again.
 *
 * The command path encodes every event it decides, and zod's encode re-validates each field on the
 * way (every id against its pattern): about a sixth of the time spent deciding a command. The
 * events a decision builds come from commands already decoded and from the state, so the checks
 * find nothing there; what matters is the shape, and this takes it from the schema itself, so the
 * schemas stay the one description of every event. Only the kinds the ledger's schemas use are
 * understood; anything else fails when the encoder is compiled, not when it runs.
 */
import type { z } from 'zod';

export type Encoder = (value: unknown) => unknown;

interface Definition {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly reverseTransform?: (value: unknown, payload: unknown) => unknown;
}

const definitionOf = (schema: z.ZodType): Definition => (schema as unknown as { _zod: { def: Definition } })._zod.def;

/** Leaf kinds whose output is already their JSON. */
const AS_IS = new Set(['string', 'enum', 'literal', 'boolean', 'number']);

const asIs: Encoder = (value) => value;

export function compileEncoder(schema: z.ZodType, path = '(root)'): Encoder {
  const def = definitionOf(schema);
  if (AS_IS.has(def.type)) return asIs;
  switch (def.type) {
    case 'object': {
      const fields = Object.entries(def.shape ?? {}).map(
        ([key, field]) => [key, compileEncoder(field, `${path}.${key}`)] as const,
      );
      return (value) => {
        const source = value as Record<string, unknown>;
        const encoded: Record<string, unknown> = {};
        for (const [key, encode] of fields) encoded[key] = encode(source[key]);
        return encoded;
      };
    }
    case 'nullable': {
      const inner = compileEncoder(def.innerType!, path);
      return (value) => (value === null ? null : inner(value));
    }
    case 'array': {
      const element = compileEncoder(def.element!, `${path}[]`);
      return (value) => (value as unknown[]).map(element);
    }
    case 'pipe': {
      // A codec: its encode side turns the domain value (a bigint, an instant) into its JSON.
      const reverse = def.reverseTransform;
      if (!reverse) throw new Error(`${path}: a one-way transform cannot be encoded`);
      return (value) => reverse(value, { value, issues: [] });
    }
    default:
      throw new Error(`${path}: no encoder for zod kind "${def.type}"`);
  }
}
