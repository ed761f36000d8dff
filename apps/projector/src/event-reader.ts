/**
 * The reader side of the projector: pulls one subscription to the log into a bounded queue ahead
 * of the committer, and lets the committer wait on it.
 */
import type { RecordedEvent } from '@ledger/event-store';

export const TIMED_OUT = Symbol('timed out');

/**
 * Pulls a subscription into a queue of at most `capacity` events, ahead of the committer, and
 * pauses while the queue is full, so that memory stays bounded (the queue plus the store's page).
 * It records how the subscription ended (exhausted or failed) rather than throwing: the committer
 * asks once the queue is drained.
 */
export class EventReader {
  ended = false;
  private readonly queue: RecordedEvent[] = [];
  private failure: { error: unknown } | undefined;
  private stopping = false;
  private readonly waiting = new Set<() => void>();
  private spaceFreed: (() => void) | undefined;
  private readonly pump: Promise<void>;

  constructor(
    private readonly events: AsyncIterable<RecordedEvent>,
    private readonly capacity: number,
  ) {
    this.pump = this.run();
  }

  /** Up to `max` queued events, oldest first, taken off the queue. */
  take(max: number): RecordedEvent[] {
    const taken = this.queue.splice(0, max);
    if (taken.length > 0) {
      const freed = this.spaceFreed;
      this.spaceFreed = undefined;
      freed?.();
    }
    return taken;
  }

  /**
   * Resolves once at least one event is queued or the subscription ended: after the reader has
   * queued every event the subscription already holds in memory, so that a page read in one query
   * is committed in one batch and not event by event.
   */
  pending(): Promise<void> {
    return this.until(() => this.queue.length > 0);
  }

  /** Resolves once `count` events are queued, or the subscription ended. */
  filled(count: number): Promise<void> {
    return this.until(() => this.queue.length >= Math.min(count, this.capacity));
  }

  /** Throws what the subscription failed with, if it did. */
  rethrow(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Stops pulling and waits until the subscription is released. */
  async stop(): Promise<void> {
    this.stopping = true;
    const freed = this.spaceFreed;
    this.spaceFreed = undefined;
    freed?.();
    await this.pump;
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.ended) {
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
    // The subscription yields a page it already read through promise callbacks only: everything
    // it holds has been queued before a macrotask runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private signalChange(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const resolve of waiting) resolve();
  }

  private async run(): Promise<void> {
    try {
      for await (const event of this.events) {
        this.queue.push(event);
        this.signalChange();
        if (this.stopping) break;
        while (this.queue.length >= this.capacity && !this.stopping) {
          await new Promise<void>((resolve) => (this.spaceFreed = resolve));
        }
        if (this.stopping) break;
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.ended = true;
      this.signalChange();
    }
  }
}

/** The promise's value, or TIMED_OUT if it takes longer than `ms`; the promise itself runs on. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
