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
export const STATE_SNAPSHOT_VERSION = 6;

/**
 * How a Float64Array's bytes (the archive's fingerprints: 8 bytes each, little-endian on every host
 * we run) travel inside the text: as base64. The default here is pure and slow (~15 ms for a
 * million-event account's archive); a caller with a native codec passes it in (the API uses Node's
 * Buffer, well under a millisecond). Both write and read the same text.
 */
export interface Base64Codec {
  encode(bytes: Uint8Array): string;
  decode(text: string): Uint8Array;
}

export const pureBase64: Base64Codec = {
  encode(bytes) {
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  },
  decode(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  },
};

function float64sOf(bytes: Uint8Array): Float64Array {
  // Copied: the codec's bytes may sit at any offset of a shared buffer, a Float64Array needs 8-byte alignment.
  const values = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(values.buffer).set(bytes.subarray(0, values.byteLength));
  return values;
}

const replacer =
  (base64: Base64Codec) =>
  (_key: string, value: unknown): unknown => {
    if (typeof value === 'bigint') return { $big: value.toString() };
    if (value instanceof Float64Array)
      return { $f64: base64.encode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
    if (value instanceof Map) return { $map: [...value] };
    if (value instanceof Set) return { $set: [...value] };
    return value;
  };

/**
 * Turns the parsed text's tagged objects back into bigints, Maps, Sets and Float64Arrays, in place.
 * A walk after a plain JSON.parse, rather than a reviver: about three times faster on a state of
 * thousands of runs, and a cold account's load is mostly this.
 */
function revive(value: unknown, base64: Base64Codec): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], base64);
    return value;
  }
  const object = value as Record<string, unknown>;
  let only: string | undefined;
  let keys = 0;
  for (const key in object) {
    only = key;
    if (++keys > 1) break;
  }
  if (keys === 1 && only !== undefined) {
    const tagged = object[only];
    if (only === '$big' && typeof tagged === 'string') return BigInt(tagged);
    if (only === '$map' && Array.isArray(tagged)) {
      const map = new Map<unknown, unknown>();
      for (const entry of tagged as Array<[unknown, unknown]>)
        map.set(revive(entry[0], base64), revive(entry[1], base64));
      return map;
    }
    if (only === '$set' && Array.isArray(tagged)) {
      const set = new Set<unknown>();
      for (const item of tagged) set.add(revive(item, base64));
      return set;
    }
    if (only === '$f64' && typeof tagged === 'string') return float64sOf(base64.decode(tagged));
  }
  for (const key in object) object[key] = revive(object[key], base64);
  return object;
}

/** Any value built of plain objects, arrays, strings, numbers, booleans, null, bigints, Maps, Sets and Float64Arrays. */
export const encodeSnapshot = (value: unknown, base64: Base64Codec = pureBase64): string =>
  JSON.stringify(value, replacer(base64));

export const decodeSnapshot = <T>(text: string, base64: Base64Codec = pureBase64): T =>
  revive(JSON.parse(text), base64) as T;

export const encodeState = (state: AccountState): string => encodeSnapshot(state);

export const decodeState = (text: string): AccountState => decodeSnapshot<AccountState>(text);
