/**
 * The double's data: one transaction log, every stream a view of it. It outlives the gRPC server,
 * so a restart keeps every event.
 *
 * Positions are offsets into the log, as on the server (v24.10, log format v2): an append writes one
 * record per event, each committed on its own, so an event's commit and prepare positions are both
 * the offset of its own record, and an append's answer names the last of them.
 */
import { randomUUID } from 'node:crypto';

export interface StoredEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  /** The offset of the event's record: its commit and its prepare position. */
  readonly position: bigint;
  readonly commit: bigint;
  readonly prepare: bigint;
  /** Where the next record starts (the server's post-position). */
  readonly postPosition: bigint;
  /** 100 ns ticks since the Unix epoch. */
  readonly created: bigint;
}

export interface Proposed {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

type Listener = (events: readonly StoredEvent[]) => void;

const TICKS_PER_MS = 10_000n;
/** A log record's fixed overhead, so that positions grow like offsets in a transaction file. */
const RECORD_OVERHEAD = 128n;

export class InMemoryLog {
  readonly all: StoredEvent[] = [];
  readonly streams = new Map<string, StoredEvent[]>();
  /** Every event by id: the server's committed-events cache, which here forgets nothing. */
  private readonly byId = new Map<string, StoredEvent>();
  private readonly listeners = new Set<Listener>();
  /** The log opens with a header and an epoch record: no event sits at position 0. */
  private nextOffset = RECORD_OVERHEAD * 2n;
  private appends = 0;

  constructor(private readonly statsEvery: number) {
    // A fresh server's log starts with system records.
    this.write('$settings', [systemEvent('$settings', { $userStreamAcl: {}, $systemStreamAcl: {} })]);
    this.write('$users', [systemEvent('$User', 'admin')]);
    this.write('$user-admin', [systemEvent('$user', { loginName: 'admin', fullName: 'Event Store Administrator' })]);
    this.write('$scavenges', [systemEvent('$scavengeIndexInitialized', {})]);
  }

  lastRevision(streamId: string): bigint | undefined {
    const stream = this.streams.get(streamId);
    return stream && stream.length > 0 ? BigInt(stream.length - 1) : undefined;
  }

  /** The position of the newest record in the log (the server's last indexed position). */
  lastPosition(): bigint {
    return this.all.at(-1)?.position ?? -1n;
  }

  eventById(id: string): StoredEvent | undefined {
    return this.byId.get(id);
  }

  /** Appends with no checks: the caller has decided the append may go ahead. */
  write(streamId: string, proposed: readonly Proposed[]): StoredEvent[] {
    const stream = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, stream);
    const created = BigInt(Date.now()) * TICKS_PER_MS;
    const written = proposed.map((event, i): StoredEvent => {
      const position = this.nextOffset;
      this.nextOffset +=
        RECORD_OVERHEAD +
        BigInt(event.data.length + event.customMetadata.length + 2 * event.type.length + streamId.length);
      const postPosition = this.nextOffset;
      return {
        ...event,
        streamId,
        revision: BigInt(stream.length + i),
        position,
        commit: position,
        prepare: position,
        postPosition,
        created,
      };
    });
    stream.push(...written);
    this.all.push(...written);
    for (const event of written) this.byId.set(event.id, event);
    for (const listener of this.listeners) listener(written);
    if (!streamId.startsWith('$') && this.statsEvery > 0 && ++this.appends % this.statsEvery === 0) {
      this.write('$stats-127.0.0.1:2113', [systemEvent('$statsCollected', { 'proc-mem': 123456 })]);
    }
    return written;
  }

  /**
   * An append of no events still writes a record on the server (an empty prepare), which takes a
   * place in the log but is no event: its position is what the append answers.
   */
  writeEmpty(): bigint {
    const position = this.nextOffset;
    this.nextOffset += RECORD_OVERHEAD;
    return position;
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const systemEvent = (type: string, data: unknown): Proposed => ({
  id: randomUUID(),
  type,
  contentType: 'application/json',
  data: Buffer.from(JSON.stringify(data)),
  customMetadata: new Uint8Array(),
});
