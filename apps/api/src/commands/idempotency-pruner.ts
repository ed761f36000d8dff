import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { IdempotencyStore } from './idempotency-store';

const HOUR = 60 * 60 * 1000;

/** Forgets idempotency answers once they are older than the retention promise, hourly. */
@Injectable()
export class IdempotencyPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('IdempotencyPruner');
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: IdempotencyStore) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.prune(), HOUR);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<void> {
    try {
      const removed = await this.store.pruneOlderThan();
      if (removed > 0n) this.logger.log(`forgot ${removed} expired idempotency answers`);
    } catch (error) {
      this.logger.warn(`pruning idempotency answers failed: ${String(error)}`);
    }
  }
}
