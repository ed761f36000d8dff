/**
 * The ledger's invariants, stated once and checked after every event in tests (and by auditors):
 * nothing is negative, every credit granted is in exactly one bucket, holds sit inside consumption,
 * and each grant and run accounts for its own credits.
 */
import type { AccountState } from './state';
import { bucketsOf, drawQueueOf, earliestDue, granted } from './state';

export function invariantViolations(state: AccountState): string[] {
  const problems: string[] = [];
  const b = bucketsOf(state);
  const check = (ok: boolean, message: string) => ok || problems.push(message);

  for (const [name, value] of Object.entries(b)) check(value >= 0n, `${name} is negative (${value})`);
  check(
    granted(state) === b.available + b.reserved + b.consumed + b.expired,
    'granted ≠ available + reserved + consumed + expired',
  );
  check(b.hold <= b.consumed, 'hold exceeds consumed');
  const due = earliestDue(state);
  check(state.nextDueAt === due, `nextDueAt is ${state.nextDueAt}, the grants say ${due}`);
  const queue = drawQueueOf(state);
  check(
    queue.length === state.drawQueue.length && queue.every((id, i) => state.drawQueue[i] === id),
    `drawQueue is [${state.drawQueue.join(', ')}], the grants say [${queue.join(', ')}]`,
  );

  let free = 0n;
  let reservedInGrants = 0n;
  for (const grant of state.grants.values()) {
    free += grant.free;
    reservedInGrants += grant.reserved;
    check(grant.free >= 0n && grant.reserved >= 0n, `grant ${grant.grantId} has a negative part`);
    check(
      grant.amount === grant.free + grant.reserved + grant.consumed + grant.expired,
      `grant ${grant.grantId} does not add up`,
    );
  }
  check(free === b.available, `free credits in grants (${free}) ≠ available (${b.available})`);
  check(reservedInGrants === b.reserved, `reserved in grants (${reservedInGrants}) ≠ reserved (${b.reserved})`);

  let reservedInRuns = 0n;
  let held = 0n;
  for (const run of state.runs.values()) {
    reservedInRuns += run.reserved;
    const inReservation = [...run.reservation.values()].reduce((t, v) => t + v, 0n);
    check(inReservation === run.reserved, `run ${run.runId} reservation does not add up`);
    check(run.status === 'accepted' || run.reserved === 0n, `finished run ${run.runId} still reserves credits`);
    check(run.held <= run.consumed, `run ${run.runId} holds more than it consumed`);
  }
  for (const hold of state.holds.values()) if (hold.status === 'held') held += hold.amount;
  check(reservedInRuns === b.reserved, `reserved in runs (${reservedInRuns}) ≠ reserved (${b.reserved})`);
  check(held === b.hold, `open holds (${held}) ≠ hold (${b.hold})`);
  return problems;
}
