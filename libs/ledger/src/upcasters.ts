/**
 * Event evolution: an event type's schema only grows, and every stored event names the schema
 * version it was written in (metadata.schemaVersion). An event stored in an older shape is read
 * as the current shape by running it through one upcaster per version step — on every read, never
 * by rewriting what is stored, so the stored history stays exactly what was decided.
 *
 * An upcaster takes the stored JSON of version n and returns the JSON of version n + 1 (still
 * wire form: money as decimal strings); the current schema then decodes it as usual.
 */

/** The JSON of one event's data, as stored. */
export type StoredEventData = Record<string, unknown>;
export type Upcaster = (data: StoredEventData) => StoredEventData;

/**
 * The capability band a version-1 `RunAccepted` is read with when it carries none. Version 1
 * predates capability bands: every action then ran in the one band plans now call "standard".
 */
export const V1_RUN_CAPABILITY_BAND = 'standard';

/**
 * The registry: `"<type>@<fromVersion>"` → the step to fromVersion + 1. Every event type at
 * version n > 1 needs a step from each earlier version (a test checks the chain is complete).
 */
export const upcasters: Readonly<Record<string, Upcaster>> = {
  /**
   * RunAccepted v1 → v2: v2 added `capabilityBand`. A v1 event without one ran in the standard
   * band; a v1 event that already carries one (written while v1 and the field overlapped) keeps it.
   */
  'RunAccepted@1': (data) => ({ ...data, capabilityBand: data.capabilityBand ?? V1_RUN_CAPABILITY_BAND }),
  /** CreditsGranted v1 → v2: v2 added validity windows; every v1 grant took effect when recorded. */
  'CreditsGranted@1': (data) => ({ ...data, effectiveAt: data.effectiveAt ?? null }),
  /** CreditsExpired v1 → v2: v2 added `reason`; before accounts could close, every expiry was a lapse. */
  'CreditsExpired@1': (data) => ({ ...data, reason: data.reason ?? 'lapsed' }),
  /**
   * RunCompleted v1 → v2: v2 added `completedAt`. A v1 completion's time is not known: null, which
   * the settlement window treats as long past (rules.md, "Settlement window").
   */
  'RunCompleted@1': (data) => ({ ...data, completedAt: data.completedAt ?? null }),
};

export const upcasterKey = (type: string, fromVersion: number): string => `${type}@${fromVersion}`;

/**
 * The data of a `type` event stored at `storedVersion`, brought to `currentVersion`. Throws for a
 * version newer than this code knows (written by a newer ledger) and for a missing step.
 */
export function upcastEventData(type: string, storedVersion: number, currentVersion: number, data: unknown): unknown {
  if (!Number.isInteger(storedVersion) || storedVersion < 1) {
    throw new Error(`stored ${type} has no valid schema version (${String(storedVersion)})`);
  }
  if (storedVersion > currentVersion) {
    throw new Error(
      `stored ${type} is schema version ${storedVersion}, newer than this ledger reads (${currentVersion}); upgrade the reader`,
    );
  }
  let upcast = data;
  for (let version = storedVersion; version < currentVersion; version++) {
    const step = upcasters[upcasterKey(type, version)];
    if (!step) throw new Error(`no upcaster brings a stored ${type} from version ${version} to ${version + 1}`);
    if (typeof upcast !== 'object' || upcast === null || Array.isArray(upcast)) {
      throw new Error(`stored ${type} (version ${version}) is not a JSON object`);
    }
    upcast = step(upcast as StoredEventData);
  }
  return upcast;
}
