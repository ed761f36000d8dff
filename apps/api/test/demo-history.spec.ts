/**
 * The demo account's history, decided by the real domain at past instants: weeks of days with
 * runs, in order, ending at the current period's start with the Growth plan's included credits in
 * effect and nothing reserved or held — so the seed's own runs, sent after it, leave the seed
 * page's figures.
 */
import { bucketsOf, decodeEvent, evolve, initialState } from '@ledger/domain';
import { demoHistory } from '../src/workspace/demo-history';

const PERIOD_START = new Date('2026-12-01T00:00:00.000Z');

describe('the demo history', () => {
  const events = demoHistory('acct-demo', PERIOD_START);

  it('spans weeks of days, in order, before the period', () => {
    const instants = events.map((e) => e.metadata.occurredAt);
    expect([...instants].sort()).toEqual(instants);
    const days = new Set(instants.map((instant) => instant.slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(28);
    expect(instants[0]! < '2026-10-28').toBe(true);
    expect(instants.at(-1)).toBe(PERIOD_START.toISOString());
    expect(events.filter((e) => e.type === 'RunCompleted').length).toBeGreaterThan(50);
    expect(events.some((e) => e.type === 'SettlementHoldReleased')).toBe(true);
  });

  it('leaves the period with its 500 included credits, nothing reserved or held, and the top-ups spent or lapsed', () => {
    const state = initialState();
    for (const appended of events)
      evolve(state, decodeEvent(appended.type, appended.data, appended.metadata.schemaVersion));
    const buckets = bucketsOf(state);
    expect(buckets).toMatchObject({ included: 5_000_000n, available: 5_000_000n, reserved: 0n, hold: 0n });
    expect(buckets.bonus).toBe(buckets.consumed + buckets.expired);
    expect(state.subscription?.plan.planId).toBe('growth-launch');
  });
});
