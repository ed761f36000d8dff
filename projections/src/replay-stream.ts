/** Replaying one account straight from the event store (through its port): what auditors trust. */
import { accountStreamId, type EventStore } from '@ledger/event-store';
import { toProjectedEvent } from './projected-event';
import { AccountReplay, isWithin, type AsOf, type EventEffect } from './replay';

export interface StreamReplay {
  readonly replay: AccountReplay;
  /** False when the account's stream has no events at all: there is no such account. */
  readonly exists: boolean;
}

/**
 * Reads the account's stream in order and replays it up to the first event beyond `asOf` (every
 * event without one), handing each event's effect to `onEvent`.
 */
export async function replayAccountStream(
  store: Pick<EventStore, 'readStream'>,
  accountId: string,
  { asOf, onEvent }: { asOf?: AsOf; onEvent?: (effect: EventEffect, replay: AccountReplay) => void } = {},
): Promise<StreamReplay> {
  const replay = new AccountReplay();
  let exists = false;
  for await (const recorded of store.readStream(accountStreamId(accountId))) {
    exists = true;
    const projected = toProjectedEvent(recorded);
    if (asOf && !isWithin(asOf, projected)) break;
    const effect = replay.apply(projected);
    onEvent?.(effect, replay);
  }
  return { replay, exists };
}
