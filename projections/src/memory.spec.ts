import { RowMemory } from './memory';

describe('what a projection remembers between batches', () => {
  it('shows a batch its own rows at once, and other batches only once it is kept', () => {
    const memory = new RowMemory();
    const first = memory.batch();
    first.remember('runs', 'a/r1', { status: 'accepted' });
    expect(first.recall('runs', 'a/r1')).toEqual({ status: 'accepted' });
    expect(memory.batch().recall('runs', 'a/r1')).toBeUndefined();
    memory.keep(first);
    expect(memory.batch().recall('runs', 'a/r1')).toEqual({ status: 'accepted' });
  });

  it('forgets a dropped batch, and everything on forget()', () => {
    const memory = new RowMemory();
    const kept = memory.batch();
    kept.remember('runs', 'a/r1', 1n);
    memory.keep(kept);
    const dropped = memory.batch();
    dropped.remember('runs', 'a/r1', 2n);
    dropped.remember('runs', 'a/r2', 3n);
    // Never kept: the next batch sees the rows as the last committed batch left them.
    expect(memory.batch().recall('runs', 'a/r1')).toBe(1n);
    expect(memory.batch().recall('runs', 'a/r2')).toBeUndefined();
    memory.forget();
    expect(memory.size).toBe(0);
    expect(memory.batch().recall('runs', 'a/r1')).toBeUndefined();
  });

  it('keeps tables apart and remembers a zero', () => {
    const memory = new RowMemory();
    const batch = memory.batch();
    batch.remember('runs', 'k', 0n);
    batch.remember('credit_grants', 'k', 5n);
    memory.keep(batch);
    expect(memory.batch().recall('runs', 'k')).toBe(0n);
    expect(memory.batch().recall('credit_grants', 'k')).toBe(5n);
  });

  it('lets the least recently written rows go beyond its capacity', () => {
    const memory = new RowMemory(3);
    for (const key of ['a', 'b', 'c']) {
      const batch = memory.batch();
      batch.remember('runs', key, key);
      memory.keep(batch);
    }
    const rewrite = memory.batch();
    rewrite.remember('runs', 'a', 'a2'); // a is now the most recent
    rewrite.remember('runs', 'd', 'd');
    memory.keep(rewrite);
    expect(memory.size).toBe(3);
    const now = memory.batch();
    expect(['a', 'b', 'c', 'd'].map((key) => now.recall('runs', key))).toEqual(['a2', undefined, 'c', 'd']);
  });
});
