import { decodeEvent, encodeEventData, eventSchemas, type EventType, type LedgerEvent } from './events';
import { fold } from './evolve';
import {
  NEXT_PERIOD,
  acceptRunCommand,
  at,
  cmd,
  credits,
  openedAccountCommands,
  runCommands,
  T0,
  DAY,
} from './test-support';

const acct = 'acct-1';
const run = { accountId: acct, runId: 'run-1', projectId: 'proj-a' };

/**
 * One sample of every event type, and the JSON it must be stored as, both written by hand:
 * money as decimal strings (credits with up to 4 places, fen as whole numbers), instants as ISO.
 */
const samples: Record<EventType, { event: LedgerEvent; json: Record<string, unknown> }> = {
  BillingAccountOpened: {
    event: { type: 'BillingAccountOpened', data: { accountId: acct, name: 'Acme' } },
    json: { accountId: acct, name: 'Acme' },
  },
  SubscriptionStarted: {
    event: {
      type: 'SubscriptionStarted',
      data: {
        accountId: acct,
        plan: {
          planId: 'growth',
          name: 'Growth launch plan',
          includedCredits: 5_000_000n,
          capabilityBands: ['standard', 'advanced'],
          rateCard: [
            { action: 'workflow.run', capabilityBand: 'standard', minimumCost: 10_000n },
            { action: 'agent.run', capabilityBand: 'advanced', minimumCost: 0n },
          ],
          creditPriceFen: 100n,
          settlementThresholdFen: 10000n,
        },
        period: { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
      },
    },
    json: {
      accountId: acct,
      plan: {
        planId: 'growth',
        name: 'Growth launch plan',
        includedCredits: '500',
        capabilityBands: ['standard', 'advanced'],
        rateCard: [
          { action: 'workflow.run', capabilityBand: 'standard', minimumCost: '1' },
          { action: 'agent.run', capabilityBand: 'advanced', minimumCost: '0' },
        ],
        creditPriceFen: '100',
        settlementThresholdFen: '10000',
      },
      period: { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
    },
  },
  PlanChanged: {
    event: {
      type: 'PlanChanged',
      data: {
        accountId: acct,
        plan: {
          planId: 'lite',
          name: 'Lite',
          includedCredits: 1n,
          capabilityBands: ['standard'],
          rateCard: [{ action: 'workflow.run', capabilityBand: 'standard', minimumCost: 3500n }],
          creditPriceFen: 7n,
          settlementThresholdFen: 0n,
        },
      },
    },
    json: {
      accountId: acct,
      plan: {
        planId: 'lite',
        name: 'Lite',
        includedCredits: '0.0001',
        capabilityBands: ['standard'],
        rateCard: [{ action: 'workflow.run', capabilityBand: 'standard', minimumCost: '0.35' }],
        creditPriceFen: '7',
        settlementThresholdFen: '0',
      },
    },
  },
  SubscriptionPeriodRenewed: {
    event: {
      type: 'SubscriptionPeriodRenewed',
      data: { accountId: acct, period: { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' } },
    },
    json: { accountId: acct, period: { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' } },
  },
  ProjectAttached: {
    event: { type: 'ProjectAttached', data: { accountId: acct, projectId: 'proj-a', name: null } },
    json: { accountId: acct, projectId: 'proj-a', name: null },
  },
  CreditsGranted: {
    event: {
      type: 'CreditsGranted',
      data: {
        accountId: acct,
        grantId: 'promo-1',
        source: 'top_up',
        amount: 125_000n,
        effectiveAt: '2026-11-01T12:00:00.000Z',
        expiresAt: '2026-11-02T00:00:00.000Z',
        projectId: 'proj-a',
        reason: 'launch promo',
      },
    },
    json: {
      accountId: acct,
      grantId: 'promo-1',
      source: 'top_up',
      amount: '12.5',
      effectiveAt: '2026-11-01T12:00:00.000Z',
      expiresAt: '2026-11-02T00:00:00.000Z',
      projectId: 'proj-a',
      reason: 'launch promo',
    },
  },
  CreditsBecameEffective: {
    event: {
      type: 'CreditsBecameEffective',
      data: { accountId: acct, grantId: 'promo-1', source: 'top_up', projectId: 'proj-a', amount: 125_000n },
    },
    json: { accountId: acct, grantId: 'promo-1', source: 'top_up', projectId: 'proj-a', amount: '12.5' },
  },
  CreditsExpired: {
    event: {
      type: 'CreditsExpired',
      data: { accountId: acct, grantId: 'promo-1', projectId: null, amount: 1n, reason: 'lapsed' },
    },
    json: { accountId: acct, grantId: 'promo-1', projectId: null, amount: '0.0001', reason: 'lapsed' },
  },
  RunAccepted: {
    event: {
      type: 'RunAccepted',
      data: { ...run, action: 'workflow.run', capabilityBand: 'standard', estimatedCost: 240_000n },
    },
    json: { ...run, action: 'workflow.run', capabilityBand: 'standard', estimatedCost: '24' },
  },
  CreditsReserved: {
    event: {
      type: 'CreditsReserved',
      data: {
        ...run,
        amount: 240_000n,
        draws: [
          { grantId: 'promo-1', amount: 3_500n },
          { grantId: 'included:2026-11-01T00:00:00.000Z', amount: 236_500n },
        ],
      },
    },
    json: {
      ...run,
      amount: '24',
      draws: [
        { grantId: 'promo-1', amount: '0.35' },
        { grantId: 'included:2026-11-01T00:00:00.000Z', amount: '23.65' },
      ],
    },
  },
  RunCompleted: {
    event: { type: 'RunCompleted', data: { ...run, actualCost: 0n, completedAt: '2026-11-07T10:00:00.000Z' } },
    json: { ...run, actualCost: '0', completedAt: '2026-11-07T10:00:00.000Z' },
  },
  CreditsConsumed: {
    event: {
      type: 'CreditsConsumed',
      data: {
        ...run,
        amount: 300_001n,
        fromReservation: 240_000n,
        reservationDraws: [{ grantId: 'g1', amount: 240_000n }],
        overrun: 60_001n,
        overrunDraws: [{ grantId: 'g2', amount: 60_001n }],
      },
    },
    json: {
      ...run,
      amount: '30.0001',
      fromReservation: '24',
      reservationDraws: [{ grantId: 'g1', amount: '24' }],
      overrun: '6.0001',
      overrunDraws: [{ grantId: 'g2', amount: '6.0001' }],
    },
  },
  ReservationReleased: {
    event: {
      type: 'ReservationReleased',
      data: { ...run, amount: 10n ** 16n, reason: 'cancelled', draws: [{ grantId: 'g1', amount: 10n ** 16n }] },
    },
    json: { ...run, amount: '1000000000000', reason: 'cancelled', draws: [{ grantId: 'g1', amount: '1000000000000' }] },
  },
  CommercialExceptionRecorded: {
    event: { type: 'CommercialExceptionRecorded', data: { ...run, kind: 'overrun_shortfall', amount: 100_000n } },
    json: { ...run, kind: 'overrun_shortfall', amount: '10' },
  },
  RunFailed: {
    event: { type: 'RunFailed', data: { ...run, reason: 'provider timeout' } },
    json: { ...run, reason: 'provider timeout' },
  },
  RunCancelled: {
    event: { type: 'RunCancelled', data: { ...run, reason: null } },
    json: { ...run, reason: null },
  },
  SettlementHoldPlaced: {
    event: { type: 'SettlementHoldPlaced', data: { ...run, holdId: 'h1', provider: 'openai', amount: 80_000n } },
    json: { ...run, holdId: 'h1', provider: 'openai', amount: '8' },
  },
  SettlementHoldReleased: {
    event: {
      type: 'SettlementHoldReleased',
      data: { ...run, holdId: 'h1', provider: 'openai', amount: 80_000n, outcome: 'paid_out' },
    },
    json: { ...run, holdId: 'h1', provider: 'openai', amount: '8', outcome: 'paid_out' },
  },
  AccountSuspended: {
    event: { type: 'AccountSuspended', data: { accountId: acct, reason: null } },
    json: { accountId: acct, reason: null },
  },
  AccountReactivated: {
    event: { type: 'AccountReactivated', data: { accountId: acct } },
    json: { accountId: acct },
  },
  BillingAccountClosed: {
    event: { type: 'BillingAccountClosed', data: { accountId: acct } },
    json: { accountId: acct },
  },
  AlertRuleDefined: {
    event: {
      type: 'AlertRuleDefined',
      data: { accountId: acct, ruleId: 'low', kind: 'available_below', threshold: '50' },
    },
    json: { accountId: acct, ruleId: 'low', kind: 'available_below', threshold: '50' },
  },
  AlertRuleRemoved: {
    event: { type: 'AlertRuleRemoved', data: { accountId: acct, ruleId: 'low' } },
    json: { accountId: acct, ruleId: 'low' },
  },
  AlertFired: {
    event: {
      type: 'AlertFired',
      data: {
        accountId: acct,
        ruleId: 'low',
        kind: 'available_below',
        threshold: '50',
        observed: '42.5',
        subject: null,
      },
    },
    json: { accountId: acct, ruleId: 'low', kind: 'available_below', threshold: '50', observed: '42.5', subject: null },
  },
  AlertCleared: {
    event: { type: 'AlertCleared', data: { accountId: acct, ruleId: 'low', kind: 'available_below' } },
    json: { accountId: acct, ruleId: 'low', kind: 'available_below' },
  },
};

describe('event encoding', () => {
  it('has a sample for every event type', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(eventSchemas).sort());
  });

  it.each(Object.entries(samples))('%s encodes money as decimal strings and decodes back', (type, { event, json }) => {
    const encoded = encodeEventData(event);
    expect(encoded).toEqual(json);
    // what a store keeps is JSON text: no bigint, no undefined survives it
    const stored = JSON.parse(JSON.stringify(encoded)) as unknown;
    expect(stored).toEqual(json);
    expect(decodeEvent(type, stored)).toEqual(event);
  });

  it('round-trips every event a whole account history produces', () => {
    const { events } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'day-1', source: 'top_up', amount: credits('10.25'), expiresAt: at(T0, DAY) }),
      acceptRunCommand('r1', credits('24')),
      acceptRunCommand('r2', credits('400')),
      cmd('CompleteRun', { runId: 'r1', actualCost: credits('200.0001') }),
      cmd('PlaceSettlementHold', { holdId: 'h1', runId: 'r1', provider: 'openai', amount: credits('8') }),
      cmd('ReleaseSettlementHold', { holdId: 'h1', outcome: 'reversed' }),
      { command: cmd('CancelRun', { runId: 'r2' }), now: NEXT_PERIOD.start },
      { command: cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), now: NEXT_PERIOD.start },
      { command: cmd('SuspendAccount', {}), now: NEXT_PERIOD.start },
      { command: cmd('ReactivateAccount', {}), now: NEXT_PERIOD.start },
      { command: cmd('CloseBillingAccount', {}), now: NEXT_PERIOD.start },
    ]);
    const types = new Set(events.map((e) => e.type));
    expect(types.size).toBe(18);
    const decoded = events.map((event) => decodeEvent(event.type, JSON.parse(JSON.stringify(encodeEventData(event)))));
    expect(decoded).toEqual(events);
    // and a replay of the decoded events rebuilds the same state
    expect(fold(decoded)).toEqual(fold(events));
  });

  it("encodes every sample and every event of a history exactly as its schema's own encode does", () => {
    const { events } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'g', source: 'top_up', amount: credits('3.5'), expiresAt: at(T0, DAY) }),
      acceptRunCommand('r1', credits('24')),
      cmd('CompleteRun', { runId: 'r1', actualCost: credits('30.0001') }),
    ]);
    for (const event of [...Object.values(samples).map((sample) => sample.event), ...events]) {
      expect(encodeEventData(event)).toEqual(eventSchemas[event.type].encode(event.data as never));
    }
  });

  it('normalises a stored instant to UTC', () => {
    const decoded = decodeEvent('SubscriptionPeriodRenewed', {
      accountId: acct,
      period: { start: '2026-12-01T08:00:00+08:00', end: '2027-01-01T00:00:00Z' },
    });
    expect(decoded.data).toEqual({
      accountId: acct,
      period: { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    });
  });

  it.each([
    ['a negative amount', '-1'],
    ['too many decimal places', '1.00001'],
    ['a number instead of a string', 24],
    ['not a number at all', 'twenty'],
    ['an exponent', '1e3'],
    ['zero where a positive amount is required', '0'],
    ['more than one command may move (10^12 credits)', '1000000000000.0001'],
    ['a missing amount', undefined],
  ])('refuses a stored credit amount with %s', (_name, amount) => {
    const json = { ...samples.SettlementHoldPlaced.json, amount };
    expect(() => decodeEvent('SettlementHoldPlaced', json)).toThrow(/SettlementHoldPlaced/);
  });

  it('refuses a corrupt amount inside a draw, and a fractional fen price', () => {
    const draws = [{ grantId: 'g1', amount: '24.00001' }];
    expect(() => decodeEvent('CreditsReserved', { ...samples.CreditsReserved.json, draws })).toThrow();
    const plan = { ...(samples.PlanChanged.json.plan as object), creditPriceFen: '1.5' };
    expect(() => decodeEvent('PlanChanged', { ...samples.PlanChanged.json, plan })).toThrow();
  });

  it('refuses a bad instant and an unknown event type', () => {
    expect(() =>
      decodeEvent('CreditsGranted', { ...samples.CreditsGranted.json, expiresAt: 'next tuesday' }),
    ).toThrow();
    expect(() => decodeEvent('CreditsTeleported', {})).toThrow(/unknown event type/);
  });
});
