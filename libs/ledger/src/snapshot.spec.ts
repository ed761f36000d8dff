/**
 * Snapshots against full replay: for random histories and a random cut, folding the events up to
 * the cut, encoding and decoding that state, then folding the rest, must give exactly the state a
 * full replay gives — and the decoded state must decide every next command the same way.
 */
import fc from 'fast-check';
import type { LedgerCommand } from './commands';
import { decide } from './decide';
import type { LedgerEvent } from './events';
import { compactState } from './compact';
import { cloneState, evolve, fold } from './evolve';
import {
  decodeSnapshot,
  decodeState,
  encodeSnapshot,
  encodeState,
  STATE_SNAPSHOT_VERSION,
  type Base64Codec,
} from './snapshot';
import { initialState } from './state';
import { DAY, T0, acceptRunCommand, at, cmd, context, credits, openedAccountCommands } from './test-support';

type Step = { kind: 'grant' | 'accept' | 'complete' | 'fail' | 'hold' | 'release' | 'expire'; n: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('grant', 'accept', 'accept', 'complete', 'fail', 'hold', 'release', 'expire'),
  n: fc.nat({ max: 50 }),
});

/** Decides a random history (rejections skipped) and returns its events. */
function history(steps: readonly Step[]): LedgerEvent[] {
  const state = initialState();
  const events: LedgerEvent[] = [];
  let runs = 0;
  let grants = 0;
  let holds = 0;
  const send = (command: LedgerCommand, when: number): void => {
    const decision = decide(command, state, context(at(T0, when)));
    if (!decision.ok) return;
    for (const event of decision.events) {
      evolve(state, event);
      events.push(event);
    }
  };
  openedAccountCommands().forEach((command) => send(command, 0));
  // Rules that fire and clear as the history moves, so snapshots carry alertRules too.
  send(cmd('DefineAlertRule', { ruleId: 'low', kind: 'available_below', threshold: '480' }), 0);
  send(cmd('DefineAlertRule', { ruleId: 'owed', kind: 'commercial_exception' }), 0);
  steps.forEach(({ kind, n }, i) => {
    const when = i * 60_000;
    const runId = `run-${n % Math.max(1, runs)}`;
    if (kind === 'grant') {
      send(
        cmd('GrantCredits', {
          grantId: `g-${grants++}`,
          source: n % 2 ? 'top_up' : 'manual',
          amount: credits(String(1 + n)),
          ...(n % 3 === 0 ? { expiresAt: at(T0, when + DAY) } : {}),
        }),
        when,
      );
    } else if (kind === 'accept') send(acceptRunCommand(`run-${runs++}`, credits(String(1 + (n % 7)))), when);
    else if (kind === 'complete') send(cmd('CompleteRun', { runId, actualCost: credits(String(n % 9)) }), when);
    else if (kind === 'fail') send(cmd('FailRun', { runId }), when);
    else if (kind === 'hold') {
      send(cmd('PlaceSettlementHold', { holdId: `h-${holds++}`, runId, provider: 'p', amount: credits('1') }), when);
    } else if (kind === 'release') {
      send(cmd('ReleaseSettlementHold', { holdId: `h-${n % Math.max(1, holds)}`, outcome: 'paid_out' }), when);
    } else send(cmd('ExpireCredits', { asOf: at(T0, when + 2 * DAY) }), when);
  });
  return events;
}

/** Two 32-bit FNV-1a hashes and the length, as hex: enough to tell a changed encoding (the domain has no crypto). */
function digestOf(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ text.charCodeAt(i), 0x5bd1e995);
  }
  return [a >>> 0, b >>> 0, text.length].map((n) => n.toString(16)).join('-');
}

describe('account state snapshots', () => {
  it('a snapshot plus the events after it equals a full replay', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), fc.double({ min: 0, max: 1, noNaN: true }), (steps, where) => {
        const events = history(steps);
        const cut = Math.floor(where * events.length);
        const full = fold(events);
        const restored = decodeState(encodeState(fold(events.slice(0, cut))));
        const resumed = fold(events.slice(cut), restored);
        expect(resumed).toEqual(full);
        // And it decides alike: the next AcceptRun gets the same answer from both.
        const next = acceptRunCommand('run-next', credits('3'));
        expect(decide(next, cloneState(resumed), context(at(T0, DAY)))).toEqual(
          decide(next, cloneState(full), context(at(T0, DAY))),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('encodes deterministically: decoding and encoding again gives the same text', () => {
    const state = fold(
      history([
        { kind: 'grant', n: 5 },
        { kind: 'accept', n: 1 },
        { kind: 'complete', n: 0 },
      ]),
    );
    const text = encodeState(state);
    expect(encodeState(decodeState(text))).toBe(text);
  });

  it('reads the same text through another base64 codec, whatever offset its bytes sit at', () => {
    const values = new Float64Array([0, 1.5, -(2 ** 52), 2 ** 53 - 1, Number.MIN_VALUE]);
    const text = encodeSnapshot({ archived: values, other: [1n, new Set(['a'])] });
    // Node's Buffer hands out views into a shared pool, at offsets a Float64Array cannot start at.
    const offsetCodec: Base64Codec = {
      encode: (bytes) => Buffer.from(bytes).toString('base64'),
      decode: (encoded) => {
        const bytes = Buffer.from(encoded, 'base64');
        const shifted = new Uint8Array(bytes.length + 3);
        shifted.set(bytes, 3);
        return shifted.subarray(3);
      },
    };
    const decoded = decodeSnapshot<{ archived: Float64Array; other: [bigint, Set<string>] }>(text, offsetCodec);
    expect([...decoded.archived]).toEqual([...values]);
    expect(decoded.other).toEqual([1n, new Set(['a'])]);
    expect(encodeSnapshot(decoded, offsetCodec)).toBe(text);
  });

  it('folds a fixed history to the encoding recorded for STATE_SNAPSHOT_VERSION', () => {
    // A change to what a history folds to (the state's shape, or what evolve puts in it) changes
    // this digest. Snapshots taken before it would then be read into the wrong state: bump
    // STATE_SNAPSHOT_VERSION in snapshot.ts and record the new digest here, under the new version.
    const recorded: Record<number, string> = {
      2: 'a240c567-b7236953-7995',
      3: '2265f0fc-8307337a-7a59',
      4: 'f3955e74-b3f01f80-7a67',
      5: '90e890f0-6b2fb9da-7a8e',
      6: 'd01d8c78-52f24e5c-7bcb',
    };
    const steps: Step[] = Array.from({ length: 400 }, (_, i) => ({
      kind: (['grant', 'accept', 'accept', 'complete', 'fail', 'hold', 'release', 'expire'] as const)[i % 8]!,
      n: (i * 7) % 51,
    }));
    const state = fold(history(steps));
    compactState(state, at(T0, 40 * DAY));
    const digest = digestOf(encodeState(state));
    if (digest !== recorded[STATE_SNAPSHOT_VERSION]) {
      throw new Error(
        `the fixed history now folds to another state (digest ${digest}): bump STATE_SNAPSHOT_VERSION in ` +
          `snapshot.ts and record this digest under the new version, so that older snapshots are not used`,
      );
    }
  });
});
