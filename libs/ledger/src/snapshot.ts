/**
 * Account state as text, for snapshots: a long stream is loaded from its latest snapshot plus the
 * events after it instead of being folded from the start. Pure: the API decides when to take and
 * where to keep them.
 *
 * The encoding is generic (bigints, Maps, Sets and Float64Arrays are tagged), so it follows the
 * state's shape without a schema of its own. A snapshot is only as good as the evolve that made it:
 * loaders discard one of another STATE_SNAPSHOT_VERSION. The version is bumped by hand whenever the
 * state a history folds to changes — its shape, or what evolve puts in it — and a test holds it to
 * that: it folds a fixed history and compares the encoding's digest with the one recorded for the
 * current version (snapshot.spec.ts), failing with what to do when they differ.
 */
import type { AccountState } from './state';

/** Bump when what a history folds to changes (see above); record the new digest in snapshot.spec.ts. */
export const STATE_SNAPSHOT_VERSION = 2;

/** A Float64Array's bytes as base64 (the archive's fingerprints: 8 bytes each, little-endian on every host we run). */
function base64Of(values: Float64Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function float64sOf(text: string): Float64Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float64Array(bytes.buffer);
}

function replace(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $big: value.toString() };
  if (value instanceof Float64Array) return { $f64: base64Of(value) };
  if (value instanceof Map) return { $map: [...value] };
  if (value instanceof Set) return { $set: [...value] };
  return value;
}

function revive(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tagged = value as Partial<Record<'$big' | '$map' | '$set' | '$f64', unknown>>;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  if (typeof tagged.$big === 'string') return BigInt(tagged.$big);
  if (Array.isArray(tagged.$map)) return new Map(tagged.$map as Array<[unknown, unknown]>);
  if (Array.isArray(tagged.$set)) return new Set(tagged.$set);
  if (typeof tagged.$f64 === 'string') return float64sOf(tagged.$f64);
  return value;
}

/** Any value built of plain objects, arrays, strings, numbers, booleans, null, bigints, Maps, Sets and Float64Arrays. */
export const encodeSnapshot = (value: unknown): string => JSON.stringify(value, replace);

export const decodeSnapshot = <T>(text: string): T => JSON.parse(text, revive) as T;

export const encodeState = (state: AccountState): string => encodeSnapshot(state);

export const decodeState = (text: string): AccountState => decodeSnapshot<AccountState>(text);
