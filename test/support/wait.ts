/**
 * Waiting on a real condition, never on the clock: `condition` is asked again and again until it
 * holds. The deadline is only there so that a condition that never comes fails the test with a
 * message, not a jest timeout; it is generous, because a busy machine may take many times longer
 * than an idle one, and waiting longer never makes a wrong result pass.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Long enough for any condition of the suite on a loaded 2-core machine. */
export const GENEROUS_DEADLINE_MS = 120_000;

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = GENEROUS_DEADLINE_MS, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(intervalMs);
  }
}

/** Like waitUntil, for a value: asks `read` until `done` holds for what it returned, and returns that. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  let value!: T;
  await waitUntil(async () => done((value = await read())), what, options);
  return value;
}
