/**
 * Appending, as EventStoreDB v24.10 decides it, behind both of its gRPC methods: `Streams.Append`
 * (one call per append) and `Streams.BatchAppend` (one long-lived stream per connection carrying
 * many appends, told apart by correlation ids), which client 6.x uses whenever the server
 * advertises it.
 */
import {
  emptyPb,
  grpc,
  jspb,
  rpcStatus,
  RpcCode,
  serviceError,
  sharedPb,
  streamIdentifier,
  streamName,
  streamsPb,
  type grpcTypes,
  type StreamsPb,
} from './grpc';
import type { InMemoryLog, Proposed, StoredEvent } from './log';

export interface AppendLimits {
  /** The server's MaxAppendSize: all events of one append together. */
  readonly maxAppendSize: number;
  /** The server's MaxAppendEventSize: one event (unlimited by default). */
  readonly maxAppendEventSize: number;
  /** The server's WriteTimeoutMs: a batch append's deadline is at most this far away. */
  readonly writeTimeoutMs: number;
}

/** EventStoreDB's defaults. */
export const DEFAULT_LIMITS: AppendLimits = {
  maxAppendSize: 1024 * 1024,
  maxAppendEventSize: Number.POSITIVE_INFINITY,
  writeTimeoutMs: 2000,
};

/** What the server counts of an event against the size limits: data, metadata and the type twice. */
export const eventSize = (event: Pick<Proposed, 'type' | 'data' | 'customMetadata'>): number =>
  event.data.length + event.customMetadata.length + 2 * event.type.length;

// ─── The decision ────────────────────────────────────────────────────────────────────────────────

export type Expected =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'stream_exists' }
  | { readonly kind: 'revision'; readonly revision: bigint };

export type Decision =
  /** Stored, or recognised as stored already: the last event's revision (undefined: no stream) and position. */
  | { readonly ok: true; readonly revision: bigint | undefined; readonly position: bigint }
  /** The expectation does not hold, or the ids only partly match what is stored. */
  | { readonly ok: false; readonly current: bigint | undefined };

/**
 * The server's commit check. With an exact revision (no_stream counting as -1) behind the stream's
 * end, the append is a retry when its ids are the stream's events right after that revision; with
 * any or stream_exists, when every id is an event of this stream wherever it sits. A first id that
 * is new means a new append; a later one that is new means a partial overlap, which is refused as a
 * wrong expected version.
 */
export function decideAppend(
  log: InMemoryLog,
  streamId: string,
  expected: Expected,
  proposed: readonly Proposed[],
): Decision {
  const stream = log.streams.get(streamId) ?? [];
  const current = log.lastRevision(streamId);
  const refused: Decision = { ok: false, current };
  const write = (): Decision => {
    if (proposed.length === 0) return { ok: true, revision: current, position: log.writeEmpty() };
    const last = log.write(streamId, proposed).at(-1)!;
    return { ok: true, revision: last.revision, position: last.position };
  };
  const already = (last: StoredEvent): Decision => ({ ok: true, revision: last.revision, position: last.position });

  if (current === undefined) {
    return expected.kind === 'any' || expected.kind === 'no_stream' ? write() : refused;
  }
  if (expected.kind === 'any' || expected.kind === 'stream_exists') {
    let last: StoredEvent | undefined;
    for (const [i, event] of proposed.entries()) {
      const stored = log.eventById(event.id);
      if (!stored || stored.streamId !== streamId) return i === 0 ? write() : refused;
      last = stored;
    }
    return last ? already(last) : write();
  }
  const after = expected.kind === 'no_stream' ? -1n : expected.revision;
  if (after > current) return refused;
  if (after === current) return write();
  if (proposed.length === 0) return refused;
  for (const [i, event] of proposed.entries()) {
    if (stream[Number(after) + 1 + i]?.id !== event.id) return refused;
  }
  return already(stream[Number(after) + proposed.length]!);
}

// ─── Test controls ───────────────────────────────────────────────────────────────────────────────

/** Where a batch append is cut off: before its events are written, or after (its answer lost). */
export interface BatchAppendFault {
  readonly at: 'before-write' | 'after-write';
  /** `stream`: only the batch stream fails (UNAVAILABLE); `connection`: every connection drops. */
  readonly drop: 'stream' | 'connection';
}

export interface HeldRequests {
  /** Requests waiting. */
  readonly held: number;
  /** Handles the waiting requests in order, and stops holding. */
  release(): void;
}

/** What tests may do to, and see of, the append path. */
export class AppendControls {
  /** Appends answered (success or refusal), per method. */
  readonly answered = { append: 0, batchAppend: 0 };
  /** BatchAppend streams opened. */
  batchStreams = 0;
  private readonly faults: { fault: BatchAppendFault; done: () => void }[] = [];
  private holding: { which: (request: StreamsPb.BatchAppendReq) => boolean; queue: (() => void)[] } | undefined;

  failNextBatchAppend(fault: BatchAppendFault): Promise<void> {
    return new Promise((done) => this.faults.push({ fault, done }));
  }

  takeFault(): { fault: BatchAppendFault; done: () => void } | undefined {
    return this.faults.shift();
  }

  holdBatchAppends(which: (request: StreamsPb.BatchAppendReq) => boolean = () => true): HeldRequests {
    const holding = { which, queue: [] as (() => void)[] };
    this.holding = holding;
    return {
      get held() {
        return holding.queue.length;
      },
      release: () => {
        if (this.holding === holding) this.holding = undefined;
        for (const handle of holding.queue.splice(0)) handle();
      },
    };
  }

  /** Runs `handle` now, or queues it behind the requests held before it. */
  admit(request: StreamsPb.BatchAppendReq | null, handle: () => void): void {
    const holding = this.holding;
    if (holding && (holding.queue.length > 0 || (request !== null && holding.which(request)))) {
      holding.queue.push(handle);
    } else handle();
  }
}

export interface AppendContext {
  readonly log: InMemoryLog;
  readonly limits: AppendLimits;
  readonly controls: AppendControls;
  /** Drops every connection to the server and listens again (a server restart). */
  readonly dropConnections: () => Promise<void>;
}

const REQUIRED_METADATA_MISSING = (property: string) =>
  serviceError(grpc.status.INVALID_ARGUMENT, `Required Metadata Property '${property}' is missing`, {
    exception: 'missing-required-metadata-property',
    'required-metadata-properties': property,
  });

function proposedOf(message: StreamsPb.AppendReq.ProposedMessage | StreamsPb.BatchAppendReq.ProposedMessage) {
  const id = message.getId();
  const metadata = message.getMetadataMap();
  return {
    id: id?.hasString() ? id.getString() : undefined,
    type: metadata.get('type') as string | undefined,
    contentType: metadata.get('content-type') as string | undefined,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

// ─── Streams.Append ──────────────────────────────────────────────────────────────────────────────

type AppendCall = grpcTypes.ServerReadableStream<StreamsPb.AppendReq, StreamsPb.AppendResp>;

/** One append per call: options first, then the events; every limit is checked as each event arrives. */
export function append(
  context: AppendContext,
  call: AppendCall,
  callback: grpcTypes.sendUnaryData<StreamsPb.AppendResp>,
): void {
  const { limits } = context;
  let options: StreamsPb.AppendReq.Options | undefined;
  const proposed: Proposed[] = [];
  let size = 0;
  let done = false;
  const fail = (error: Partial<grpcTypes.ServiceError>): void => {
    if (done) return;
    done = true;
    callback(error);
  };
  call.on('data', (request: StreamsPb.AppendReq) => {
    if (done) return;
    if (!options) {
      if (!request.hasOptions()) return fail(serviceError(grpc.status.INVALID_ARGUMENT, 'options come first'));
      options = request.getOptions()!;
      return;
    }
    const message = request.getProposedMessage();
    if (!message) return fail(serviceError(grpc.status.INVALID_ARGUMENT, 'expected a proposed message'));
    const event = proposedOf(message);
    if (!event.id) return fail(serviceError(grpc.status.INVALID_ARGUMENT, 'the double only takes string UUIDs'));
    if (event.type === undefined) return fail(REQUIRED_METADATA_MISSING('type'));
    if (event.contentType === undefined) return fail(REQUIRED_METADATA_MISSING('content-type'));
    const own = eventSize({ type: event.type, data: event.data, customMetadata: event.customMetadata });
    if (own > limits.maxAppendEventSize) {
      return fail(
        serviceError(
          grpc.status.INVALID_ARGUMENT,
          `Event with Id: ${event.id}, Size: ${own}, exceeds Maximum Append Event Size of ${limits.maxAppendEventSize}.`,
          {
            exception: 'maximum-append-event-size-exceeded',
            'maximum-append-event-size': String(limits.maxAppendEventSize),
            'event-id': event.id,
            'proposed-append-event-size': String(own),
          },
        ),
      );
    }
    size += own;
    if (size > limits.maxAppendSize) {
      return fail(
        serviceError(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${limits.maxAppendSize} Exceeded.`, {
          exception: 'maximum-append-size-exceeded',
          'maximum-append-size': String(limits.maxAppendSize),
        }),
      );
    }
    proposed.push({ ...event, id: event.id, type: event.type, contentType: event.contentType });
  });
  call.on('error', () => undefined);
  call.on('end', () => {
    if (done) return;
    if (!options) return fail(serviceError(grpc.status.INVALID_ARGUMENT, 'no options'));
    const streamId = streamName(options.getStreamIdentifier());
    const expected = expectedOfAppend(options);
    const decision = decideAppend(context.log, streamId, expected, proposed);
    done = true;
    context.controls.answered.append++;
    callback(null, appendReply(decision, expected));
  });
}

function expectedOfAppend(options: StreamsPb.AppendReq.Options): Expected {
  const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  switch (options.getExpectedStreamRevisionCase()) {
    case Case.REVISION:
      return { kind: 'revision', revision: BigInt(options.getRevision()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

function appendReply(decision: Decision, expected: Expected): StreamsPb.AppendResp {
  const { AppendResp } = streamsPb;
  const reply = new AppendResp();
  if (decision.ok) {
    const success = new AppendResp.Success();
    if (decision.revision === undefined) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(decision.revision.toString());
    const position = new AppendResp.Position();
    position.setCommitPosition(decision.position.toString());
    position.setPreparePosition(decision.position.toString());
    success.setPosition(position);
    reply.setSuccess(success);
    return reply;
  }
  // A wrong expected version is an answer, not a gRPC error.
  const wrong = new AppendResp.WrongExpectedVersion();
  if (decision.current === undefined) wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(decision.current.toString());
  if (expected.kind === 'revision') wrong.setExpectedRevision(expected.revision.toString());
  else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new sharedPb.Empty());
  else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new sharedPb.Empty());
  else wrong.setExpectedAny(new sharedPb.Empty());
  reply.setWrongExpectedVersion(wrong);
  return reply;
}

// ─── Streams.BatchAppend ─────────────────────────────────────────────────────────────────────────

type BatchCall = grpcTypes.ServerDuplexStream<StreamsPb.BatchAppendReq, StreamsPb.BatchAppendResp>;

interface PendingWrite {
  readonly streamId: string;
  readonly expected: Expected;
  readonly events: Proposed[];
  size: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Many appends on one stream. A request carries a correlation id, the append's options in its
 * first request, some of its events, and whether it is the last; the server gathers an append's
 * events until its last request, then answers with the same correlation id. Limits are checked
 * per request: an append that outgrows them is answered at once and its later requests are
 * ignored. Its deadline is the client's, capped at the server's write timeout; an append not
 * complete by then is answered with a timeout.
 */
export function batchAppend(context: AppendContext, call: BatchCall): void {
  const { controls, limits } = context;
  controls.batchStreams++;
  const pending = new Map<string, PendingWrite>();
  let closed = false;

  const respond = (reply: StreamsPb.BatchAppendResp): void => {
    if (!closed) call.write(reply);
  };
  const forget = (correlation: string): PendingWrite | undefined => {
    const write = pending.get(correlation);
    if (write) clearTimeout(write.timer);
    pending.delete(correlation);
    return write;
  };
  const close = (): void => {
    closed = true;
    for (const correlation of [...pending.keys()]) forget(correlation);
  };
  call.on('cancelled', close);
  call.on('error', close);
  call.on('close', close);

  const handle = (request: StreamsPb.BatchAppendReq): void => {
    if (closed) return;
    const correlationId = request.getCorrelationId();
    const correlation = correlationId?.hasString() ? correlationId.getString() : '';
    const errorReply = (stream: string, status: ReturnType<typeof rpcStatus>): StreamsPb.BatchAppendResp => {
      const reply = new streamsPb.BatchAppendResp();
      if (correlationId) reply.setCorrelationId(correlationId);
      reply.setStreamIdentifier(streamIdentifier(stream));
      reply.setError(status);
      return reply;
    };
    if (request.hasOptions()) {
      const options = request.getOptions()!;
      const stream = streamName(options.getStreamIdentifier());
      if (!options.hasStreamIdentifier()) {
        return respond(errorReply(stream, badRequest('Required field StreamIdentifier not set.')));
      }
      const deadline = options.getDeadline();
      const requested = deadline ? deadline.toDate().getTime() - Date.now() : Number.POSITIVE_INFINITY;
      const timeout = Math.min(requested, limits.writeTimeoutMs);
      if (timeout <= 0) return respond(errorReply(stream, timeoutStatus()));
      if (!pending.has(correlation)) {
        pending.set(correlation, {
          streamId: stream,
          expected: expectedOfBatch(options),
          events: [],
          size: 0,
          timer: setTimeout(() => {
            if (!forget(correlation)) return;
            controls.answered.batchAppend++;
            respond(errorReply(stream, timeoutStatus()));
          }, timeout),
        });
      }
    }
    const write = pending.get(correlation);
    if (!write) return; // never started, or already answered: the server ignores it
    for (const message of request.getProposedMessagesList()) {
      const event = proposedOf(message);
      if (!event.id || event.type === undefined || event.contentType === undefined) {
        forget(correlation);
        controls.answered.batchAppend++;
        return respond(errorReply(write.streamId, badRequest('an event lacks its id, type or content-type')));
      }
      const own = eventSize({ type: event.type, data: event.data, customMetadata: event.customMetadata });
      if (own > limits.maxAppendEventSize) {
        forget(correlation);
        controls.answered.batchAppend++;
        return respond(errorReply(write.streamId, eventTooBig(event.id, own, limits.maxAppendEventSize)));
      }
      write.size += own;
      write.events.push({ ...event, id: event.id, type: event.type, contentType: event.contentType });
    }
    if (write.size > limits.maxAppendSize) {
      forget(correlation);
      controls.answered.batchAppend++;
      return respond(errorReply(write.streamId, appendTooBig(limits.maxAppendSize)));
    }
    if (!request.getIsFinal()) return;
    forget(correlation);

    const fault = controls.takeFault();
    if (fault?.fault.at === 'before-write') return cut(fault);
    const decision = decideAppend(context.log, write.streamId, write.expected, write.events);
    if (fault) return cut(fault);
    controls.answered.batchAppend++;
    respond(batchReply(correlationId, write, decision));
  };

  const cut = ({ fault, done }: { fault: BatchAppendFault; done: () => void }): void => {
    if (fault.drop === 'connection') {
      void context.dropConnections().then(done);
      return;
    }
    close();
    call.emit('error', serviceError(grpc.status.UNAVAILABLE, 'the batch append stream was dropped'));
    done();
  };

  call.on('data', (request: StreamsPb.BatchAppendReq) => controls.admit(request, () => handle(request)));
  call.on('end', () =>
    controls.admit(null, () => {
      // The client is done sending: every complete append has been answered (the server answers
      // those it has started, and abandons the ones still missing their last request).
      if (closed) return;
      close();
      call.end();
    }),
  );
}

function expectedOfBatch(options: StreamsPb.BatchAppendReq.Options): Expected {
  const Case = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (options.getExpectedStreamPositionCase()) {
    case Case.STREAM_POSITION:
      return { kind: 'revision', revision: BigInt(options.getStreamPosition()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

function batchReply(
  correlationId: ReturnType<StreamsPb.BatchAppendReq['getCorrelationId']>,
  write: PendingWrite,
  decision: Decision,
): StreamsPb.BatchAppendResp {
  const reply = new streamsPb.BatchAppendResp();
  if (correlationId) reply.setCorrelationId(correlationId);
  reply.setStreamIdentifier(streamIdentifier(write.streamId));
  if (decision.ok) {
    const success = new streamsPb.BatchAppendResp.Success();
    if (decision.revision === undefined) success.setNoStream(new emptyPb.Empty());
    else success.setCurrentRevision(decision.revision.toString());
    const position = new sharedPb.AllStreamPosition();
    position.setCommitPosition(decision.position.toString());
    position.setPreparePosition(decision.position.toString());
    success.setPosition(position);
    reply.setSuccess(success);
    return reply;
  }
  const wrong = new sharedPb.WrongExpectedVersion();
  if (decision.current === undefined) wrong.setCurrentNoStream(new emptyPb.Empty());
  else wrong.setCurrentStreamRevision(decision.current.toString());
  const { expected } = write;
  if (expected.kind === 'revision') wrong.setExpectedStreamPosition(expected.revision.toString());
  else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new emptyPb.Empty());
  else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new emptyPb.Empty());
  else wrong.setExpectedAny(new emptyPb.Empty());
  reply.setError(
    rpcStatus(
      RpcCode.ALREADY_EXISTS,
      'WrongExpectedVersion',
      wrong.serializeBinary(),
      'event_store.client.WrongExpectedVersion',
    ),
  );
  return reply;
}

const timeoutStatus = () =>
  rpcStatus(
    RpcCode.DEADLINE_EXCEEDED,
    'Timeout',
    new sharedPb.Timeout().serializeBinary(),
    'event_store.client.Timeout',
  );

function appendTooBig(maxAppendSize: number) {
  const details = new sharedPb.MaximumAppendSizeExceeded();
  details.setMaxappendsize(maxAppendSize);
  return rpcStatus(
    RpcCode.INVALID_ARGUMENT,
    'MaximumAppendSizeExceeded',
    details.serializeBinary(),
    'event_store.client.MaximumAppendSizeExceeded',
  );
}

/** Client 6.2.1 has no class for this message (the server's is newer): its fields, written by hand. */
function eventTooBig(eventId: string, size: number, max: number) {
  const writer = new jspb.BinaryWriter();
  writer.writeString(1, eventId);
  writer.writeUint32(2, size);
  writer.writeUint32(3, max);
  return rpcStatus(
    RpcCode.INVALID_ARGUMENT,
    'MaximumAppendEventSizeExceeded',
    writer.getResultBuffer(),
    'event_store.client.MaximumAppendEventSizeExceeded',
  );
}

function badRequest(message: string) {
  const details = new sharedPb.BadRequest();
  details.setMessage(message);
  return rpcStatus(RpcCode.INVALID_ARGUMENT, 'BadRequest', details.serializeBinary(), 'event_store.client.BadRequest');
}
