/**
 * Compaction against the full history: random histories over a month (so settlement windows
 * close), with the state compacted at random moments. Every command is decided on both the full
 * state and the compacted one; the promise of compact.ts must hold at every step.
 *
 * A third copy, compacted alike, now and then hands its archive to a store (as the API's snapshots
 * do: archive.ts, `stored`) and from then on asks the store about the ids each command names
 * before deciding. It must decide exactly as the compacted state does: an id it was not asked
 * about would fail the lookup, so this also proves `archiveLookups` names every id a decision reads.
 */
import fc from 'fast-check';
import { archivedCount, archivedInMemory, isArchived, recordProbes, storedArchivedIds, unprobed } from './archive';
import type { LedgerCommand } from './commands';
import { compactState, SETTLEMENT_WINDOW_DAYS } from './compact';
import { archiveLookups, decide } from './decide';
import { cloneState, evolve } from './evolve';
import { invariantViolations } from './invariants';
import type { RejectionCode } from './rejections';
import { bucketsOf, initialState, type AccountState } from './state';
import { DAY, T0, acceptRunCommand, at, cmd, context, credits, openedAccountCommands } from './test-support';

type Kind = 'grant' | 'accept' | 'complete' | 'fail' | 'hold' | 'release' | 'reverse' | 'compact' | 'store' | 'reuse';
type Step = { kind: Kind; n: number; gapMinutes: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Kind>(
    'grant',
    'accept',
    'accept',
    'complete',
    'complete',
    'fail',
    'hold',
    'hold',
    'release',
    'reverse',
    'compact',
    'store',
    'reuse',
  ),
  n: fc.nat({ max: 40 }),
  // Mostly minutes apart, now and then days: windows open and close within the month.
  gapMinutes: fc.oneof(fc.nat({ max: 90 }), fc.integer({ min: 600, max: 5 * 24 * 60 })),
});

/**
 * Refusals a compacted state may give where the full one gives another refusal: the thing named was
 * archived. (Holds on a run past its window are refused by both, as settlement_window_closed.)
 */
const ARCHIVED_CODES: ReadonlySet<RejectionCode> = new Set(['run_archived', 'hold_archived', 'hold_already_exists']);

function commandFor(step: Step, seen: { runs: number; holds: number; grants: number }): LedgerCommand {
  const runId = `run-${step.n % Math.max(1, seen.runs)}`;
  const holdId = `h-${step.n % Math.max(1, seen.holds)}`;
  switch (step.kind) {
    case 'grant':
      return cmd('GrantCredits', {
        grantId: `g-${seen.grants++}`,
        source: 'top_up',
        amount: credits(String(5 + step.n)),
      });
    case 'accept':
      return acceptRunCommand(`run-${seen.runs++}`, credits(String(1 + (step.n % 5))));
    case 'complete':
      return cmd('CompleteRun', { runId, actualCost: credits(String(step.n % 4)) });
    case 'fail':
      return cmd('FailRun', { runId });
    case 'hold':
      return cmd('PlaceSettlementHold', { holdId: `h-${seen.holds++}`, runId, provider: 'p', amount: credits('1') });
    case 'release':
      return cmd('ReleaseSettlementHold', { holdId, outcome: 'paid_out' });
    case 'reverse':
      return cmd('ReleaseSettlementHold', { holdId, outcome: 'reversed' });
    default:
      // An id used before, again: a run id, a hold id or a grant id.
      return step.n % 3 === 0
        ? acceptRunCommand(runId, credits('1'))
        : step.n % 3 === 1
          ? cmd('PlaceSettlementHold', { holdId, runId, provider: 'p', amount: credits('1') })
          : cmd('GrantCredits', {
              grantId: `g-${step.n % Math.max(1, seen.grants)}`,
              source: 'top_up',
              amount: credits('1'),
            });
  }
}

/** The API's archive store in miniature: the fingerprints handed over so far. */
class ArchiveStore {
  private readonly held = new Set<number>();
  /** Lookups it answered with "archived": the refusals only the store could give. */
  hits = 0;
  handOver(state: AccountState): number {
    const moved = archivedInMemory(state.archived);
    for (const value of moved) this.held.add(value);
    state.archived = storedArchivedIds();
    return moved.length;
  }
  /** Answers what deciding `command` on `state` will look up, as the API does before deciding. */
  answer(state: AccountState, command: LedgerCommand): void {
    const asked = unprobed(state.archived, archiveLookups(command, state));
    const found = new Set(asked.filter((value) => this.held.has(value)));
    this.hits += found.size;
    recordProbes(state.archived, asked, found);
  }
}

function run(steps: readonly Step[]): {
  full: AccountState;
  compacted: AccountState;
  archived: number;
  storeHits: number;
} {
  const full = initialState();
  let minutes = 0;
  const now = () => at(T0, minutes * 60_000);
  for (const command of openedAccountCommands()) {
    const decision = decide(command, full, context(now()));
    if (!decision.ok) throw new Error(`setup refused: ${decision.rejection.code}`);
    for (const event of decision.events) evolve(full, event);
  }
  const compacted = cloneState(full);
  const withStore = cloneState(full);
  const store = new ArchiveStore();
  const seen = { runs: 0, holds: 0, grants: 0 };
  for (const step of steps) {
    minutes = Math.min(minutes + step.gapMinutes, 29 * 24 * 60); // inside the account's one period
    if (step.kind === 'compact') {
      compactState(compacted, now());
      compactState(withStore, now());
      continue;
    }
    if (step.kind === 'store') {
      store.handOver(withStore);
      continue;
    }
    const command = commandFor(step, seen);
    const onFull = decide(command, cloneState(full), context(now()));
    const onCompacted = decide(command, cloneState(compacted), context(now()));
    store.answer(withStore, command);
    // Asked about what it names, a state whose archive is elsewhere decides as if it held it.
    expect(decide(command, cloneState(withStore), context(now()))).toEqual(onCompacted);
    if (onFull.ok) {
      // Whatever the full history accepts, the compacted state accepts alike, event for event.
      expect(onCompacted).toEqual(onFull);
      for (const event of onFull.events) {
        evolve(full, event);
        evolve(compacted, event);
        evolve(withStore, event);
        expect(invariantViolations(compacted)).toEqual([]);
        expect(invariantViolations(withStore)).toEqual([]);
      }
    } else if (onCompacted.ok) {
      throw new Error(`${command.type} refused on the full history (${onFull.rejection.code}) but accepted compacted`);
    } else if (onCompacted.rejection.code !== onFull.rejection.code) {
      expect(ARCHIVED_CODES).toContain(onCompacted.rejection.code);
    }
    expect(bucketsOf(compacted)).toEqual(bucketsOf(full));
    expect(bucketsOf(withStore)).toEqual(bucketsOf(full));
  }
  return { full, compacted, archived: archivedCount(compacted.archived), storeHits: store.hits };
}

describe('compaction', () => {
  it('decides every command as the full history does, refusing only what it archived, never accepting twice', () => {
    let archivedSomewhere = 0;
    let storeHits = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 20, maxLength: 160 }), (steps) => {
        const outcome = run(steps);
        archivedSomewhere += outcome.archived;
        storeHits += outcome.storeHits;
      }),
      { numRuns: 300 },
    );
    // The property is only worth something if compaction really took things out, and handed them over.
    expect(archivedSomewhere).toBeGreaterThan(300);
    expect(storeHits).toBeGreaterThan(30);
  });

  it('takes out finished runs, released holds and spent grants, and keeps what can still change', () => {
    const state = initialState();
    const send = (command: LedgerCommand, now: string) => {
      const decision = decide(command, state, context(now));
      if (!decision.ok) throw new Error(`${command.type}: ${decision.rejection.code}`);
      for (const event of decision.events) evolve(state, event);
    };
    for (const command of openedAccountCommands()) send(command, T0);
    send(acceptRunCommand('failed', credits('1')), T0);
    send(cmd('FailRun', { runId: 'failed' }), T0);
    send(acceptRunCommand('open', credits('1')), T0);
    send(acceptRunCommand('holdable', credits('1')), T0);
    send(cmd('CompleteRun', { runId: 'holdable', actualCost: credits('1') }), T0);
    send(acceptRunCommand('held', credits('1')), T0);
    send(cmd('CompleteRun', { runId: 'held', actualCost: credits('1') }), T0);
    send(cmd('PlaceSettlementHold', { holdId: 'paid', runId: 'held', provider: 'p', amount: credits('1') }), T0);
    send(cmd('ReleaseSettlementHold', { holdId: 'paid', outcome: 'paid_out' }), T0);

    compactState(state, at(T0, DAY));
    expect([...state.runs.keys()].sort()).toEqual(['holdable', 'open']);
    expect(state.holds.size).toBe(0);
    for (const [kind, id] of [
      ['run', 'failed'],
      ['run', 'held'],
      ['hold', 'paid'],
    ] as const) {
      expect(isArchived(state.archived, kind, id)).toBe(true);
    }

    // Inside the window a hold may be placed; past it, not — on the full state as on this one.
    const hold = cmd('PlaceSettlementHold', { holdId: 'late', runId: 'holdable', provider: 'p', amount: credits('1') });
    expect(decide(hold, state, context(at(T0, (SETTLEMENT_WINDOW_DAYS - 1) * DAY)))).toMatchObject({ ok: true });
    expect(decide(hold, state, context(at(T0, SETTLEMENT_WINDOW_DAYS * DAY)))).toMatchObject({
      ok: false,
      rejection: { code: 'settlement_window_closed' },
    });

    // Past its settlement window (and the margin), the completed run goes too.
    compactState(state, at(T0, (SETTLEMENT_WINDOW_DAYS + 2) * DAY));
    expect([...state.runs.keys()]).toEqual(['open']);
    expect(decide(cmd('CompleteRun', { runId: 'failed', actualCost: 0n }), state, context(T0))).toMatchObject({
      ok: false,
      rejection: { code: 'run_archived' },
    });
    expect(decide(acceptRunCommand('held', credits('1')), state, context(T0))).toMatchObject({
      ok: false,
      rejection: { code: 'run_archived' },
    });
  });
});

describe('an archive kept elsewhere', () => {
  it('forgets its oldest answers past its bound, never the ones just recorded', () => {
    const ids = storedArchivedIds();
    const asked = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    recordProbes(ids, asked(0, 9_000), new Set([1]));
    recordProbes(ids, asked(9_000, 3_000), new Set([9_001]));
    const probed = ids.stored!.probed;
    expect(probed.size).toBe(10_000);
    // The first 2,000 answers went; the 3,000 just recorded are all there.
    expect(probed.has(1_999)).toBe(false);
    expect(probed.get(2_000)).toBe(false);
    expect(asked(9_000, 3_000).every((value) => probed.has(value))).toBe(true);
    expect(probed.get(9_001)).toBe(true);
  });
});
