/**
 * Decider tests in the shape of their specification (docs/rules.md):
 *
 *   given(...history).when(command, { now, principal }).then(events | rejected(code, details))
 *
 * `given` takes prior events, prior commands (decided through `decide` and folded, as the command
 * side does; a rejected setup command throws) or `{ command, now, principal }` steps. `when`
 * decides one command and proves `decide` mutated nothing. `then` expects the exact events, in
 * order (deep equality, bigints included; jest's `expect.objectContaining` may stand for an event
 * whose every field is not the point), or a rejection by code and, optionally, details (matched as
 * a subset). An accepted decision is folded event by event and the invariants must hold after
 * each one; the outcome offers the buckets, the state, and the next `when`.
 *
 * Test support: excluded from the build (`**\/test/**`), imported by specs only.
 */
import type { LedgerCommand } from '../commands';
import { decide, type Principal } from '../decide';
import { isEventType, type LedgerEvent } from '../events';
import { evolve } from '../evolve';
import type { Instant } from '../fields';
import { invariantViolations } from '../invariants';
import type { RejectionCode } from '../rejections';
import { bucketsOf, initialState, type AccountState, type Buckets } from '../state';
import { context, picture, principal as defaultPrincipal, T0, type Step } from '../test-support';

export type Prior = LedgerEvent | LedgerCommand | Step;

export interface At {
  readonly now?: Instant;
  readonly principal?: Principal;
}

export interface ExpectedRejection {
  readonly rejection: RejectionCode;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What `then` expects of a refused command: its code and, when given, a subset of its details. */
export const rejected = (code: RejectionCode, details?: Record<string, unknown>): ExpectedRejection => ({
  rejection: code,
  ...(details ? { details } : {}),
});

export interface Given {
  /** Decides `command` (at T0 by a service key unless told) against the state the history leaves. */
  when(command: LedgerCommand, at?: At): When;
  /** Every bucket the history leaves; those not named are expected to be zero. */
  buckets(expected: Partial<Buckets>): this;
  /** The state the history leaves (after `then`: after the decided events). */
  readonly state: AccountState;
}

export interface When {
  then(expected: readonly LedgerEvent[] | ExpectedRejection): Then;
}

export interface Then extends Given {
  /** The events decided (none when the command was refused). */
  readonly events: readonly LedgerEvent[];
}

/** `when`s still waiting for their `then`: a test that forgets one fails instead of passing. */
const unfinished = new Set<string>();
if (typeof afterEach === 'function') {
  afterEach(() => {
    const forgotten = [...unfinished];
    unfinished.clear();
    if (forgotten.length > 0) throw new Error(`when(...) without then(...): ${forgotten.join(', ')}`);
  });
}

export function given(...history: Array<Prior | readonly Prior[]>): Given {
  const priors = history.flat() as Prior[];
  const self: Given = {
    when: (command, at = {}) => decideOn(priors, command, at),
    buckets(expected) {
      expectBuckets(replay(priors), expected);
      return self;
    },
    get state() {
      return replay(priors);
    },
  };
  return self;
}

/** Folds the history event by event, deciding its commands on the way; the invariants hold throughout. */
function replay(priors: readonly Prior[]): AccountState {
  const state = initialState();
  for (const prior of priors) {
    if ('command' in prior || !isEventType(prior.type)) {
      const step: Step = 'command' in prior ? prior : { command: prior as LedgerCommand };
      const decision = decide(step.command, state, context(step.now ?? T0, step.principal ?? defaultPrincipal()));
      if (!decision.ok) {
        const { code, message } = decision.rejection;
        throw new Error(`given: ${step.command.type} was rejected: ${code} (${message})`);
      }
      for (const event of decision.events) foldChecked(state, event, `given: ${step.command.type}`);
    } else {
      foldChecked(state, prior as LedgerEvent, 'given');
    }
  }
  return state;
}

function foldChecked(state: AccountState, event: LedgerEvent, label: string): void {
  evolve(state, event);
  const broken = invariantViolations(state);
  if (broken.length > 0) throw new Error(`${label}: invariants broken after ${event.type}: ${broken.join('; ')}`);
}

function decideOn(priors: readonly Prior[], command: LedgerCommand, at: At): When {
  const now = at.now ?? T0;
  const who = at.principal ?? defaultPrincipal();
  const state = replay(priors);
  const before = picture(state);
  const decision = decide(command, state, context(now, who));
  const label = `${command.type} at ${now}${at.principal ? ` by ${who.role} ${who.id}` : ''}`;
  explain(`${label}: decide changed the state it was given (expected: before, received: after)`, () =>
    expect(JSON.parse(picture(state))).toStrictEqual(JSON.parse(before)),
  );
  const token = `${label} (${unfinished.size + 1})`;
  unfinished.add(token);

  return {
    then(expected) {
      unfinished.delete(token);
      // Returned from a test or awaited, a When would be taken for a promise: say so, never pass.
      if (typeof expected === 'function')
        throw new Error(`${label}: when(...) is not a promise; end it with then(...)`);
      if (!isRejection(expected)) {
        if (!decision.ok) {
          const { code, message, details } = decision.rejection;
          throw new Error(
            `${label}: expected it accepted with\n${show(expected)}\nbut it was rejected: ${code} (${message})` +
              (details ? ` ${show(details)}` : ''),
          );
        }
        explain(`${label}: the events: expected vs decided`, () => expect(decision.events).toStrictEqual(expected));
        for (const [i, event] of decision.events.entries()) foldChecked(state, event, `${label}, event ${i + 1}`);
        return outcome([...priors, ...decision.events], decision.events, state);
      }
      if (decision.ok) {
        throw new Error(
          `${label}: expected ${expected.rejection}${expected.details ? ` ${show(expected.details)}` : ''}` +
            ` but it was accepted with\n${show(decision.events)}`,
        );
      }
      expect(decision).not.toHaveProperty('events');
      const { code, message, details } = decision.rejection;
      explain(`${label}: the rejection: expected vs decided`, () => {
        expect(code).toBe(expected.rejection);
        expect(typeof message === 'string' && message.length > 0).toBe(true);
        if (expected.details) expect(details).toMatchObject(expected.details);
      });
      return outcome(priors, [], state);
    },
  };
}

function outcome(priors: readonly Prior[], events: readonly LedgerEvent[], state: AccountState): Then {
  const then: Then = {
    when: given(priors).when,
    events,
    state,
    buckets(expected) {
      expectBuckets(state, expected);
      return then;
    },
  };
  return then;
}

function expectBuckets(state: AccountState, expected: Partial<Buckets>): void {
  const zero: Buckets = { included: 0n, bonus: 0n, available: 0n, reserved: 0n, consumed: 0n, hold: 0n, expired: 0n };
  explain('the buckets: expected vs the state’s', () =>
    expect(bucketsOf(state)).toStrictEqual({ ...zero, ...expected }),
  );
}

const isRejection = (expected: readonly LedgerEvent[] | ExpectedRejection): expected is ExpectedRejection =>
  !Array.isArray(expected);

/** Runs a jest assertion and puts what was being checked above its diff. */
function explain(what: string, assertion: () => void): void {
  try {
    assertion();
  } catch (error) {
    if (error instanceof Error) error.message = `${what}\n\n${error.message}`;
    throw error;
  }
}

/** JSON with bigints shown as `240000n`. */
const show = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), 2);
