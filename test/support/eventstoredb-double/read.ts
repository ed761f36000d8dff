/**
 * `Streams.Read`: reads of a stream or of `$all`, and catch-up subscriptions to either, as
 * EventStoreDB v24.10's enumerators behave.
 *
 * A subscription first registers for live events, then confirms, then decides where it stands:
 * a start at or past the newest event goes live at once (so events appended later at or below the
 * start are skipped); otherwise it catches up in pages, says it caught up, and goes live, skipping
 * live events it already sent. A filtered subscription to `$all` also sends checkpoints: during
 * catch-up after every `checkpointIntervalMultiplier × maxSearchWindow` events considered (the
 * checkpoint is then the last event sent or the page's start, whichever is later) and once more
 * when catch-up ends; live, after every that many events appended, naming the last of them. A
 * checkpoint always follows the events it covers. Messages are written with backpressure.
 */
import { randomUUID } from 'node:crypto';
import { END_POSITION, grpc, serviceError, sharedPb, streamIdentifier, streamName, streamsPb } from './grpc';
import type { grpcTypes, StreamsPb } from './grpc';
import type { HeldRequests } from './append';
import type { InMemoryLog, StoredEvent } from './log';

/** The server's page size for catch-up reads, and the default filter search window. */
const READ_BATCH_SIZE = 32;

/** A place in `$all`: events sit at (p, p); a checkpoint may name (next record, 0). */
interface Pos {
  readonly commit: bigint;
  readonly prepare: bigint;
}
const BEFORE_ALL: Pos = { commit: -1n, prepare: -1n };
const at = (event: StoredEvent): Pos => ({ commit: event.position, prepare: event.position });
const compare = (a: Pos, b: Pos): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
const wire = (value: bigint): string => (value < 0n ? END_POSITION : value).toString();

/** The index in `$all` of the first event after `position` (or at it, when inclusive). */
function indexFrom(log: InMemoryLog, position: Pos, inclusive: boolean): number {
  let [low, high] = [0, log.all.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    const order = compare(at(log.all[middle]!), position);
    if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
    else high = middle;
  }
  return low;
}

type ReadCall = grpcTypes.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>;

/** What tests may do to, and see of, reads and subscriptions. */
export class ReadControls {
  /** Read calls opened (reads and subscriptions). */
  calls = 0;
  private holding: (() => void)[] | undefined;

  /** Leaves new read calls unanswered until released, as a server that hangs would. */
  hold(): HeldRequests {
    const queue: (() => void)[] = [];
    this.holding = queue;
    return {
      get held() {
        return queue.length;
      },
      release: () => {
        if (this.holding === queue) this.holding = undefined;
        for (const handle of queue.splice(0)) handle();
      },
    };
  }

  admit(handle: () => void): void {
    if (this.holding) this.holding.push(handle);
    else handle();
  }
}

export interface ReadContext {
  readonly log: InMemoryLog;
  readonly controls: ReadControls;
  /** Lets go of every live subscription (the server is stopping and drops its connections). */
  readonly liveCalls: Set<() => void>;
}

interface Filter {
  readonly matches: (event: StoredEvent) => boolean;
  readonly window: number;
  readonly interval: number;
}

function filterOf(options: StreamsPb.ReadReq.Options): Filter | null {
  if (!options.hasFilter()) return null;
  const filter = options.getFilter()!;
  const onStream = filter.hasStreamIdentifier();
  const expression = onStream ? filter.getStreamIdentifier()! : filter.getEventType()!;
  const prefixes = expression.getPrefixList();
  const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : undefined;
  const matches = (event: StoredEvent): boolean => {
    const subject = onStream ? event.streamId : event.type;
    if (prefixes.length > 0) return prefixes.some((prefix) => subject.startsWith(prefix));
    return regex ? regex.test(subject) : true;
  };
  const window = filter.hasMax() ? filter.getMax() : READ_BATCH_SIZE;
  return { matches, window, interval: Math.max(1, filter.getCheckpointintervalmultiplier()) * window };
}

/** Writes replies in order, waiting while the call's buffer is full; false once the call is gone. */
class Outbox {
  private gone = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly call: ReadCall) {
    const end = (): void => this.abandon();
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
  }

  /** Gives the call up without writing to it (the server is going away). */
  abandon(): void {
    this.gone = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  get open(): boolean {
    return !this.gone && !this.call.writableEnded && !this.call.destroyed;
  }

  async send(reply: StreamsPb.ReadResp): Promise<boolean> {
    if (!this.open) return false;
    if (!this.call.write(reply)) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          this.call.off('drain', wake);
          resolve();
        };
        this.waiters.add(wake);
        this.call.once('drain', wake);
      });
    }
    return this.open;
  }

  /** Resolves when the call goes away. */
  closed(): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  end(): void {
    if (this.open) this.call.end();
  }
}

function eventReply(event: StoredEvent): StreamsPb.ReadResp {
  const { ReadResp } = streamsPb;
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  const id = new sharedPb.UUID();
  id.setString(event.id);
  recorded.setId(id);
  recorded.setStreamIdentifier(streamIdentifier(event.streamId));
  recorded.setStreamRevision(event.revision.toString());
  recorded.setCommitPosition(event.position.toString());
  recorded.setPreparePosition(event.position.toString());
  const metadata = recorded.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('content-type', event.contentType);
  metadata.set('created', event.created.toString());
  recorded.setData(event.data);
  recorded.setCustomMetadata(event.customMetadata);
  const read = new ReadResp.ReadEvent();
  read.setEvent(recorded);
  read.setCommitPosition(event.position.toString());
  const reply = new ReadResp();
  reply.setEvent(read);
  return reply;
}

function checkpointReply(position: Pos): StreamsPb.ReadResp {
  const point = new streamsPb.ReadResp.Checkpoint();
  point.setCommitPosition(wire(position.commit));
  point.setPreparePosition(wire(position.prepare));
  const reply = new streamsPb.ReadResp();
  reply.setCheckpoint(point);
  return reply;
}

function confirmationReply(): StreamsPb.ReadResp {
  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
  confirmation.setSubscriptionId(randomUUID());
  const reply = new streamsPb.ReadResp();
  reply.setConfirmation(confirmation);
  return reply;
}

function caughtUpReply(): StreamsPb.ReadResp {
  const reply = new streamsPb.ReadResp();
  reply.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
  return reply;
}

export function read(context: ReadContext, call: ReadCall): void {
  context.controls.calls++;
  context.controls.admit(() => answer(context, call));
}

function answer(context: ReadContext, call: ReadCall): void {
  const options = call.request.getOptions();
  if (!options) {
    call.emit('error', serviceError(grpc.status.INVALID_ARGUMENT, 'options are required'));
    return;
  }
  if (options.hasUuidOption() && options.getUuidOption()!.hasStructured()) {
    call.emit('error', serviceError(grpc.status.UNIMPLEMENTED, 'the double only sends string UUIDs'));
    return;
  }
  const out = new Outbox(call);
  const work = options.hasSubscription()
    ? options.hasStream()
      ? subscribeToStream(context, out, options)
      : subscribeToAll(context, out, options)
    : options.hasStream()
      ? readStream(context, out, options)
      : readAll(context, out, options);
  work.catch((error: unknown) => {
    call.emit('error', serviceError(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)));
  });
}

// ─── Reads ───────────────────────────────────────────────────────────────────────────────────────

async function readStream(context: ReadContext, out: Outbox, options: StreamsPb.ReadReq.Options): Promise<void> {
  const streamOptions = options.getStream()!;
  const name = streamName(streamOptions.getStreamIdentifier());
  const stream = context.log.streams.get(name) ?? [];
  if (stream.length === 0) {
    const notFound = new streamsPb.ReadResp.StreamNotFound();
    notFound.setStreamIdentifier(streamIdentifier(name));
    const reply = new streamsPb.ReadResp();
    reply.setStreamNotFound(notFound);
    await out.send(reply);
    return out.end();
  }
  const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
  const which = streamOptions.getRevisionOptionCase();
  const last = stream.length - 1;
  const revision = which === Case.REVISION ? Number(streamOptions.getRevision()) : undefined;
  const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
  const events = backwards
    ? stream.slice(0, (which === Case.START ? 0 : which === Case.END ? last : Math.min(revision!, last)) + 1).reverse()
    : stream.slice(which === Case.START ? 0 : which === Case.END ? stream.length : revision!);
  const count = Number(options.getCount() || '0');
  for (const event of events.slice(0, count)) if (!(await out.send(eventReply(event)))) return;
  out.end();
}

/** Forwards from a position includes the event at it; backwards from one starts before it. */
async function readAll(context: ReadContext, out: Outbox, options: StreamsPb.ReadReq.Options): Promise<void> {
  const { log } = context;
  const allOptions = options.getAll()!;
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  const which = allOptions.getAllOptionCase();
  const position = allOptions.getPosition();
  const from: Pos | undefined = position
    ? { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) }
    : undefined;
  const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
  const filter = filterOf(options);
  let count = Number(options.getCount() || '0');
  const send = async (event: StoredEvent | undefined): Promise<boolean> => {
    if (!event || count <= 0) return false;
    if (filter && !filter.matches(event)) return true;
    count--;
    return out.send(eventReply(event));
  };
  if (backwards) {
    let i = which === Case.START ? -1 : from ? indexFrom(log, from, true) - 1 : log.all.length - 1;
    while (i >= 0 && (await send(log.all[i]))) i--;
  } else if (which !== Case.END) {
    let i = from ? indexFrom(log, from, true) : 0;
    while (i < log.all.length && (await send(log.all[i]))) i++;
  }
  out.end();
}

// ─── Subscriptions ───────────────────────────────────────────────────────────────────────────────

type LiveItem = { readonly event: StoredEvent } | { readonly checkpoint: Pos };

/** The live channel: filled by the log's listener from the moment of subscribing. */
class LiveChannel {
  readonly items: LiveItem[] = [];
  private wake: (() => void) | undefined;

  push(item: LiveItem): void {
    this.items.push(item);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Resolves when an item arrives or the call goes away. */
  wait(out: Outbox): Promise<void> {
    if (this.items.length > 0) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), out.closed()]);
  }
}

function registerLive(context: ReadContext, out: Outbox, listener: (event: StoredEvent) => LiveItem[]): LiveChannel {
  const channel = new LiveChannel();
  const unlisten = context.log.listen((events) => {
    for (const event of events) for (const item of listener(event)) channel.push(item);
  });
  const end = (): void => {
    unlisten();
    context.liveCalls.delete(end);
    out.abandon();
  };
  context.liveCalls.add(end);
  void out.closed().then(end);
  return channel;
}

async function subscribeToStream(context: ReadContext, out: Outbox, options: StreamsPb.ReadReq.Options): Promise<void> {
  const { log } = context;
  const streamOptions = options.getStream()!;
  const name = streamName(streamOptions.getStreamIdentifier());
  const channel = registerLive(context, out, (event) => (event.streamId === name ? [{ event }] : []));
  if (!(await out.send(confirmationReply()))) return;

  const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
  const which = streamOptions.getRevisionOptionCase();
  const last = log.lastRevision(name) ?? -1n;
  // The revision most recently sent on (events after it go out).
  let checkpoint = which === Case.START ? -1n : which === Case.END ? last : BigInt(streamOptions.getRevision());
  if (checkpoint < last) {
    for (;;) {
      const stream = log.streams.get(name) ?? [];
      const page = stream.slice(Number(checkpoint) + 1, Number(checkpoint) + 1 + READ_BATCH_SIZE);
      if (page.length === 0) break;
      for (const event of page) {
        if (!(await out.send(eventReply(event)))) return;
        checkpoint = event.revision;
      }
    }
  }
  if (!(await out.send(caughtUpReply()))) return;
  for (;;) {
    await channel.wait(out);
    if (!out.open) return;
    for (const item of channel.items.splice(0)) {
      if (!('event' in item) || item.event.revision <= checkpoint) continue;
      if (!(await out.send(eventReply(item.event)))) return;
      checkpoint = item.event.revision;
    }
  }
}

async function subscribeToAll(context: ReadContext, out: Outbox, options: StreamsPb.ReadReq.Options): Promise<void> {
  const { log } = context;
  const filter = filterOf(options);
  let appended = 0;
  const channel = registerLive(context, out, (event) => {
    const items: LiveItem[] = filter && !filter.matches(event) ? [] : [{ event }];
    // Live checkpoints count every event appended since subscribing, matching or not.
    if (filter && ++appended >= filter.interval) {
      appended = 0;
      items.push({ checkpoint: at(event) });
    }
    return items;
  });
  if (!(await out.send(confirmationReply()))) return;

  const allOptions = options.getAll()!;
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  const which = allOptions.getAllOptionCase();
  const lastIndexed = log.lastPosition();
  const last: Pos = { commit: lastIndexed, prepare: lastIndexed };
  const position = allOptions.getPosition();
  // The event or checkpoint most recently sent on: events after it go out, checkpoints at or after it.
  let checkpoint: Pos =
    which === Case.START
      ? BEFORE_ALL
      : which === Case.END
        ? last
        : { commit: BigInt(position!.getCommitPosition()), prepare: BigInt(position!.getPreparePosition()) };

  if (compare(checkpoint, last) < 0) {
    const caught = filter ? await catchUpFiltered(log, out, filter, checkpoint) : await catchUp(log, out, checkpoint);
    if (!caught) return;
    checkpoint = caught;
  }
  if (!(await out.send(caughtUpReply()))) return;
  for (;;) {
    await channel.wait(out);
    if (!out.open) return;
    for (const item of channel.items.splice(0)) {
      if ('event' in item) {
        if (compare(at(item.event), checkpoint) <= 0) continue;
        if (!(await out.send(eventReply(item.event)))) return;
        checkpoint = at(item.event);
      } else {
        if (compare(item.checkpoint, checkpoint) < 0) continue;
        if (!(await out.send(checkpointReply(item.checkpoint)))) return;
        checkpoint = item.checkpoint;
      }
    }
  }
}

/** Unfiltered catch-up: pages of events after the checkpoint until the end of the log. */
async function catchUp(log: InMemoryLog, out: Outbox, from: Pos): Promise<Pos | null> {
  let checkpoint = from;
  for (;;) {
    let i = indexFrom(log, checkpoint, false);
    if (i >= log.all.length) return checkpoint;
    const end = i + READ_BATCH_SIZE;
    for (; i < end && i < log.all.length; i++) {
      const event = log.all[i]!;
      if (!(await out.send(eventReply(event)))) return null;
      checkpoint = at(event);
    }
  }
}

/**
 * Filtered catch-up, page by page as the server reads: a page holds at most 32 matching events
 * and considers at most the search window; a page that runs into the end of the log ends the
 * catch-up with a checkpoint (which, when nothing was sent since a start from the beginning, is
 * the server's "end" value: all ones).
 */
async function catchUpFiltered(log: InMemoryLog, out: Outbox, filter: Filter, from: Pos): Promise<Pos | null> {
  let checkpoint = from;
  let considered = 0;
  let pageStart: Pos = compare(from, BEFORE_ALL) === 0 ? { commit: 0n, prepare: 0n } : from;
  for (;;) {
    let i = indexFrom(log, pageStart, true);
    const matched: StoredEvent[] = [];
    let seen = 0;
    let endOfLog = false;
    let next = pageStart;
    while (matched.length < READ_BATCH_SIZE && seen < filter.window) {
      const event = log.all[i++];
      if (!event) {
        endOfLog = true;
        break;
      }
      seen++;
      if (filter.matches(event)) matched.push(event);
      next = { commit: event.postPosition, prepare: 0n };
    }
    for (const event of matched) {
      if (compare(at(event), checkpoint) <= 0) continue;
      if (!(await out.send(eventReply(event)))) return null;
      checkpoint = at(event);
    }
    considered += seen;
    if (endOfLog) {
      if (!(await out.send(checkpointReply(checkpoint)))) return null;
      return checkpoint;
    }
    if (considered >= filter.interval) {
      considered %= filter.interval;
      if (compare(checkpoint, pageStart) < 0) checkpoint = pageStart;
      if (!(await out.send(checkpointReply(checkpoint)))) return null;
    }
    pageStart = next;
  }
}
