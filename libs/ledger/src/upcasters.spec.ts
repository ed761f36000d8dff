import { decodeEvent, encodeEventData, eventSchemaVersions, type EventType } from './events';
import { fold } from './evolve';
import { acceptRunCommand, credits, openedAccountCommands, runCommands } from './test-support';
import { upcastEventData, upcasterKey, upcasters, V1_RUN_CAPABILITY_BAND } from './upcasters';

/** RunAccepted as version 1 stored it: before capability bands. */
const v1RunAccepted = {
  accountId: 'acct-1',
  runId: 'run-1',
  projectId: 'proj-a',
  action: 'workflow.run',
  estimatedCost: '12.5',
};

describe('upcasting stored events', () => {
  it('reads a version-1 RunAccepted, stored without a capability band, in the standard band', () => {
    const decoded = decodeEvent('RunAccepted', v1RunAccepted, 1);
    expect(decoded).toEqual({
      type: 'RunAccepted',
      data: { ...v1RunAccepted, capabilityBand: V1_RUN_CAPABILITY_BAND, estimatedCost: credits('12.5') },
    });
    expect(V1_RUN_CAPABILITY_BAND).toBe('standard');
  });

  it('keeps the band a version-1 RunAccepted already carries', () => {
    const decoded = decodeEvent('RunAccepted', { ...v1RunAccepted, capabilityBand: 'advanced' }, 1);
    expect(decoded.data).toMatchObject({ capabilityBand: 'advanced' });
  });

  it('never changes the stored data it reads', () => {
    const stored = structuredClone(v1RunAccepted);
    decodeEvent('RunAccepted', stored, 1);
    expect(stored).toEqual(v1RunAccepted);
  });

  it('writes RunAccepted at version 2, which must carry its band', () => {
    expect(eventSchemaVersions.RunAccepted).toBe(2);
    expect(() => decodeEvent('RunAccepted', v1RunAccepted, 2)).toThrow(/RunAccepted/);
    expect(() => decodeEvent('RunAccepted', v1RunAccepted)).toThrow(/RunAccepted/);
  });

  it('reads a version-1 CreditsGranted as in effect when recorded, and a version-1 expiry as a lapse', () => {
    const grant = {
      accountId: 'acct-1',
      grantId: 'g-1',
      source: 'manual',
      amount: '5',
      expiresAt: null,
      projectId: null,
      reason: null,
    };
    expect(decodeEvent('CreditsGranted', grant, 1).data).toMatchObject({ effectiveAt: null, amount: credits('5') });
    expect(() => decodeEvent('CreditsGranted', grant, 2)).toThrow(/CreditsGranted/);
    const expiry = { accountId: 'acct-1', grantId: 'g-1', projectId: null, amount: '5' };
    expect(decodeEvent('CreditsExpired', expiry, 1).data).toMatchObject({ reason: 'lapsed' });
    expect(() => decodeEvent('CreditsExpired', expiry, 2)).toThrow(/CreditsExpired/);
  });

  it('refuses a version newer than it knows, and one that is not a version', () => {
    expect(() => decodeEvent('RunAccepted', v1RunAccepted, 3)).toThrow(/newer than this ledger reads/);
    expect(() => decodeEvent('RunAccepted', v1RunAccepted, 0)).toThrow(/schema version/);
    expect(() => upcastEventData('RunAccepted', 1, 2, 'text')).toThrow(/not a JSON object/);
  });

  it('has a step from every earlier version of every event type', () => {
    for (const [type, current] of Object.entries(eventSchemaVersions) as Array<[EventType, number]>) {
      for (let version = 1; version < current; version++) expect(upcasters[upcasterKey(type, version)]).toBeDefined();
    }
    // and no step that leads past a current version
    for (const key of Object.keys(upcasters)) {
      const [type, from] = key.split('@');
      expect(Number(from)).toBeLessThan(eventSchemaVersions[type as EventType]);
    }
  });

  it('folds a history whose runs were stored at version 1 like the same history stored today', () => {
    const { events } = runCommands([...openedAccountCommands(), acceptRunCommand('r1', credits('24'))]);
    const stored = events.map((event) => {
      const json = JSON.parse(JSON.stringify(encodeEventData(event))) as Record<string, unknown>;
      if (event.type !== 'RunAccepted') return { type: event.type, json, version: eventSchemaVersions[event.type] };
      const { capabilityBand: _band, ...v1 } = json;
      return { type: event.type, json: v1, version: 1 };
    });
    const decoded = stored.map(({ type, json, version }) => decodeEvent(type, json, version));
    expect(fold(decoded)).toEqual(fold(events));
  });
});
