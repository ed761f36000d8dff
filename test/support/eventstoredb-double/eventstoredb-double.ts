/**
 * An in-process, wire-compatible EventStoreDB for tests: a gRPC server on the very service
 * definitions and message classes that `@eventstore/db-client` ships (its `generated/` folder), so
 * the real client talks to it exactly as it talks to a server. Test support only, never production.
 *
 * What it does, following EventStoreDB's documented behaviour:
 * - `ServerFeatures.GetSupportedMethods` lists Read and Append (not BatchAppend, so the client
 *   appends through `Streams.Append`).
 * - `Streams.Append`: expected revision no-stream / exact / any / stream-exists; a violated
 *   expectation is a `WrongExpectedVersion` reply message, not a gRPC error; appending events whose
 *   ids are already the next events after the expected revision is idempotent (the first result
 *   again, nothing written); appends over 1 MiB fail with `maximum-append-size-exceeded`.
 * - `Streams.Read` of a stream (forwards/backwards, from start/end/revision; `StreamNotFound` for a
 *   stream that does not exist) and of `$all` (forwards/backwards, from start/end/position):
 *   reading forwards from a position includes the event at it, reading backwards from a position
 *   returns the events before it; server-side filters by stream-name or event-type prefix or regex.
 * - Subscriptions (stream and `$all`): the confirmation first, then the backlog, the caught-up
 *   message, then live events; subscribing from a position or revision is exclusive of it; filtered
 *   `$all` subscriptions receive checkpoints every `checkpointIntervalMultiplier × maxSearchWindow`
 *   events searched.
 * - Events carry `created` in 100 ns ticks since the Unix epoch, string UUIDs, commit/prepare
 *   positions that grow like offsets in a log (commit: the append's first record; prepare: the
 *   event's own record), and `$`-prefixed system events sit in `$all` (a few at start, then
 *   `$statsCollected` every few appends) so that clients must filter them out.
 *
 * Not supported: BatchAppend, Delete/Tombstone, stream metadata, link resolution, structured UUIDs,
 * credentials, persistent subscriptions, projections, gossip/cluster discovery (connect with a
 * single host and `tls=false`).
 */
import { defined } from '../defined';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb';
import type * as FeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb';

// The client's own copies: its serializers check `instanceof` against these very classes.
const clientRoot = path.dirname(require.resolve('@eventstore/db-client/package.json'));
/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require(require.resolve('@grpc/grpc-js', { paths: [clientRoot] })) as typeof grpcTypes;
const streamsPb = require(path.join(clientRoot, 'generated/streams_pb')) as typeof StreamsPb;
const sharedPb = require(path.join(clientRoot, 'generated/shared_pb')) as typeof SharedPb;
const featuresPb = require(path.join(clientRoot, 'generated/serverfeatures_pb')) as typeof FeaturesPb;
const streamsGrpc = require(path.join(clientRoot, 'generated/streams_grpc_pb')) as {
  StreamsService: grpcTypes.ServiceDefinition;
};
const featuresGrpc = require(path.join(clientRoot, 'generated/serverfeatures_grpc_pb')) as {
  ServerFeaturesService: grpcTypes.ServiceDefinition;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const { ReadReq, ReadResp, AppendResp } = streamsPb;
type ReadReqT = StreamsPb.ReadReq;
type AppendReqT = StreamsPb.AppendReq;

/** EventStoreDB's default MaxAppendSize. */
export const MAX_APPEND_SIZE = 1024 * 1024;
const TICKS_PER_MS = 10_000n;
/** A log record's fixed overhead, so positions grow like offsets in a transaction file. */
const RECORD_OVERHEAD = 128n;
const DEFAULT_MAX_SEARCH_WINDOW = 32;

export interface StoredEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly commit: bigint;
  readonly prepare: bigint;
  /** 100 ns ticks since the Unix epoch. */
  readonly created: bigint;
}

export interface DoubleOptions {
  /** Writes a `$statsCollected` system event after every this many appends (0: never). Default 3. */
  readonly statsEvery?: number;
  /** A port to listen on; default a free one. */
  readonly port?: number;
}

type Listener = (events: readonly StoredEvent[]) => void;

const compare = (a: Pick<StoredEvent, 'commit' | 'prepare'>, b: Pick<StoredEvent, 'commit' | 'prepare'>): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

/** The double's data: outlives the gRPC server, so a restart keeps every event. */
export class InMemoryLog {
  readonly all: StoredEvent[] = [];
  readonly streams = new Map<string, StoredEvent[]>();
  private readonly listeners = new Set<Listener>();
  private nextOffset = 0n;
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
    return stream && stream.length > 0 ? stream[stream.length - 1]?.revision : undefined;
  }

  /** Appends with no checks: the caller has checked the expectation. */
  write(streamId: string, proposed: readonly Proposed[]): StoredEvent[] {
    const stream = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, stream);
    const commit = this.nextOffset;
    const created = BigInt(Date.now()) * TICKS_PER_MS;
    const written = proposed.map((event, i): StoredEvent => {
      const prepare = this.nextOffset;
      this.nextOffset += RECORD_OVERHEAD + BigInt(event.data.length + event.customMetadata.length + streamId.length);
      return {
        ...event,
        streamId,
        revision: BigInt(stream.length + i),
        commit,
        prepare,
        created,
      };
    });
    stream.push(...written);
    this.all.push(...written);
    for (const listener of this.listeners) listener(written);
    if (!streamId.startsWith('$') && this.statsEvery > 0 && ++this.appends % this.statsEvery === 0) {
      this.write('$stats-127.0.0.1:2113', [systemEvent('$statsCollected', { 'proc-mem': 123456 })]);
    }
    return written;
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

interface Proposed {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

const systemEvent = (type: string, data: unknown): Proposed => ({
  id: randomUUID(),
  type,
  contentType: 'application/json',
  data: Buffer.from(JSON.stringify(data)),
  customMetadata: new Uint8Array(),
});

export interface EventStoreDbDouble {
  /** `esdb://127.0.0.1:<port>?tls=false` */
  readonly connectionString: string;
  readonly port: number;
  readonly log: InMemoryLog;
  /** Drops every connection and stops listening; the data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  start(): Promise<void>;
  /** Drops every connection and listens again at once (a server restart). */
  restart(): Promise<void>;
}

export async function startEventStoreDbDouble(options: DoubleOptions = {}): Promise<EventStoreDbDouble> {
  const log = new InMemoryLog(options.statsEvery ?? 3);
  let server: grpcTypes.Server | undefined;
  let port = options.port ?? 0;
  const liveCalls = new Set<() => void>();

  const listen = async (): Promise<void> => {
    const next = new grpc.Server();
    next.addService(featuresGrpc.ServerFeaturesService, { getSupportedMethods });
    next.addService(streamsGrpc.StreamsService, {
      read: (call: grpcTypes.ServerWritableStream<ReadReqT, StreamsPb.ReadResp>) => read(log, call, liveCalls),
      append: (call: grpcTypes.ServerReadableStream<AppendReqT, StreamsPb.AppendResp>, callback: AppendCallback) =>
        append(log, call, callback),
      batchAppend: unimplemented,
      delete: unimplemented,
      tombstone: unimplemented,
    });
    port = await new Promise<number>((resolve, reject) =>
      next.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    server = next;
  };
  const stop = async (): Promise<void> => {
    for (const end of liveCalls) end();
    liveCalls.clear();
    server?.forceShutdown();
    server = undefined;
  };

  await listen();
  return {
    get connectionString() {
      return `esdb://127.0.0.1:${port}?tls=false`;
    },
    get port() {
      return port;
    },
    log,
    stop,
    start: listen,
    async restart() {
      await stop();
      await listen();
    },
  };
}

type AppendCallback = grpcTypes.sendUnaryData<StreamsPb.AppendResp>;

function unimplemented(_call: unknown, callback?: (error: Partial<grpcTypes.ServiceError>) => void): void {
  const error = { code: grpc.status.UNIMPLEMENTED, details: 'not supported by the test double' };
  if (typeof callback === 'function') callback(error);
  else (_call as grpcTypes.ServerWritableStream<unknown, unknown>).emit('error', error);
}

function getSupportedMethods(
  _call: grpcTypes.ServerUnaryCall<SharedPb.Empty, FeaturesPb.SupportedMethods>,
  callback: grpcTypes.sendUnaryData<FeaturesPb.SupportedMethods>,
): void {
  const methods = [
    ['event_store.client.streams.streams', 'read', ['position', 'events']],
    ['event_store.client.streams.streams', 'append', []],
    ['event_store.client.server_features.serverfeatures', 'getsupportedmethods', []],
  ].map(([service, method, features]) => {
    const supported = new featuresPb.SupportedMethod();
    supported.setServiceName(service as string);
    supported.setMethodName(method as string);
    supported.setFeaturesList(features as string[]);
    return supported;
  });
  const reply = new featuresPb.SupportedMethods();
  reply.setMethodsList(methods);
  reply.setEventStoreServerVersion('23.10.0');
  callback(null, reply);
}

// ─── Append ──────────────────────────────────────────────────────────────────────────────────────

function append(
  log: InMemoryLog,
  call: grpcTypes.ServerReadableStream<AppendReqT, StreamsPb.AppendResp>,
  callback: AppendCallback,
): void {
  let options: StreamsPb.AppendReq.Options | undefined;
  const proposed: Proposed[] = [];
  let size = 0;
  let failed = false;
  const fail = (error: Partial<grpcTypes.ServiceError>): void => {
    if (failed) return;
    failed = true;
    callback(error);
  };
  call.on('data', (request: AppendReqT) => {
    if (request.hasOptions()) {
      options = request.getOptions();
      return;
    }
    const message = request.getProposedMessage();
    if (!message) return;
    const id = message.getId();
    if (!id?.hasString()) {
      fail({ code: grpc.status.INVALID_ARGUMENT, details: 'the double only takes string UUIDs' });
      return;
    }
    const metadata = message.getMetadataMap();
    const type = metadata.get('type');
    const contentType = metadata.get('content-type');
    if (!type || !contentType) {
      const trailer = new grpc.Metadata();
      trailer.set('exception', 'missing-required-metadata-property');
      trailer.set('required-metadata-properties', 'type,content-type');
      fail({ code: grpc.status.INVALID_ARGUMENT, details: 'type and content-type are required', metadata: trailer });
      return;
    }
    const data = message.getData_asU8();
    const customMetadata = message.getCustomMetadata_asU8();
    size += data.length + customMetadata.length;
    proposed.push({ id: id.getString(), type, contentType, data, customMetadata });
  });
  call.on('error', () => undefined);
  call.on('end', () => {
    if (failed) return;
    if (!options) return fail({ code: grpc.status.INVALID_ARGUMENT, details: 'the first message must hold options' });
    if (size > MAX_APPEND_SIZE) {
      const trailer = new grpc.Metadata();
      trailer.set('exception', 'maximum-append-size-exceeded');
      trailer.set('maximum-append-size', String(MAX_APPEND_SIZE));
      return fail({ code: grpc.status.INVALID_ARGUMENT, details: 'Maximum Append Size exceeded', metadata: trailer });
    }
    const streamId = Buffer.from(options.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
    callback(null, decideAppend(log, streamId, options, proposed));
  });
}

function decideAppend(
  log: InMemoryLog,
  streamId: string,
  options: StreamsPb.AppendReq.Options,
  proposed: readonly Proposed[],
): StreamsPb.AppendResp {
  const current = log.lastRevision(streamId);
  const stream = log.streams.get(streamId) ?? [];
  const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  const expectedCase = options.getExpectedStreamRevisionCase();
  const expected = expectedCase === Case.REVISION ? BigInt(options.getRevision()) : undefined;

  // Idempotence: the same event ids right after the expected revision were written already.
  const from =
    expectedCase === Case.NO_STREAM
      ? 0
      : expected !== undefined
        ? Number(expected) + 1
        : expectedCase === Case.ANY
          ? stream.length - proposed.length
          : -1;
  if (proposed.length > 0 && from >= 0 && from + proposed.length <= stream.length) {
    const existing = stream.slice(from, from + proposed.length);
    if (existing.every((event, i) => event.id === proposed[i]?.id))
      return success(defined(existing[existing.length - 1]));
  }

  const ok =
    expectedCase === Case.ANY ||
    (expectedCase === Case.NO_STREAM && current === undefined) ||
    (expectedCase === Case.STREAM_EXISTS && current !== undefined) ||
    (expected !== undefined && current === expected);
  if (!ok) {
    const wrong = new AppendResp.WrongExpectedVersion();
    if (current === undefined) wrong.setCurrentNoStream(new sharedPb.Empty());
    else wrong.setCurrentRevision(current.toString());
    if (expected !== undefined) wrong.setExpectedRevision(expected.toString());
    else if (expectedCase === Case.NO_STREAM) wrong.setExpectedNoStream(new sharedPb.Empty());
    else if (expectedCase === Case.STREAM_EXISTS) wrong.setExpectedStreamExists(new sharedPb.Empty());
    else wrong.setExpectedAny(new sharedPb.Empty());
    const reply = new AppendResp();
    reply.setWrongExpectedVersion(wrong);
    return reply;
  }
  if (proposed.length === 0) {
    const reply = new AppendResp();
    const done = new AppendResp.Success();
    if (current === undefined) done.setNoStream(new sharedPb.Empty());
    else done.setCurrentRevision(current.toString());
    done.setNoPosition(new sharedPb.Empty());
    reply.setSuccess(done);
    return reply;
  }
  const written = log.write(streamId, proposed);
  return success(defined(written[written.length - 1]));
}

function success(last: StoredEvent): StreamsPb.AppendResp {
  const position = new AppendResp.Position();
  position.setCommitPosition(last.commit.toString());
  position.setPreparePosition(last.prepare.toString());
  const done = new AppendResp.Success();
  done.setCurrentRevision(last.revision.toString());
  done.setPosition(position);
  const reply = new AppendResp();
  reply.setSuccess(done);
  return reply;
}

// ─── Read and subscribe ──────────────────────────────────────────────────────────────────────────

type Matcher = (event: StoredEvent) => boolean;

function filterOf(options: StreamsPb.ReadReq.Options): { matches: Matcher; window: number; every: number } | null {
  if (!options.hasFilter()) return null;
  const filter = options.getFilter()!;
  const onStream = filter.hasStreamIdentifier();
  const expression = onStream ? filter.getStreamIdentifier()! : filter.getEventType()!;
  const prefixes = expression.getPrefixList();
  const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : undefined;
  const matches: Matcher = (event) => {
    const subject = onStream ? event.streamId : event.type;
    if (prefixes.length > 0) return prefixes.some((prefix) => subject.startsWith(prefix));
    return regex ? regex.test(subject) : true;
  };
  const window = filter.hasMax() ? filter.getMax() : DEFAULT_MAX_SEARCH_WINDOW;
  return { matches, window, every: Math.max(1, filter.getCheckpointintervalmultiplier()) * window };
}

function toReadEvent(event: StoredEvent): StreamsPb.ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  const id = new sharedPb.UUID();
  id.setString(event.id);
  recorded.setId(id);
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(event.streamId, 'utf8'));
  recorded.setStreamIdentifier(identifier);
  recorded.setStreamRevision(event.revision.toString());
  recorded.setCommitPosition(event.commit.toString());
  recorded.setPreparePosition(event.prepare.toString());
  const metadata = recorded.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('content-type', event.contentType);
  metadata.set('created', event.created.toString());
  recorded.setData(event.data);
  recorded.setCustomMetadata(event.customMetadata);
  const read = new ReadResp.ReadEvent();
  read.setEvent(recorded);
  read.setCommitPosition(event.commit.toString());
  const reply = new ReadResp();
  reply.setEvent(read);
  return reply;
}

function read(
  log: InMemoryLog,
  call: grpcTypes.ServerWritableStream<ReadReqT, StreamsPb.ReadResp>,
  liveCalls: Set<() => void>,
): void {
  const options = call.request.getOptions();
  if (!options) {
    call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'options are required' });
    return;
  }
  if (options.hasUuidOption() && options.getUuidOption()!.hasStructured()) {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'the double only sends string UUIDs' });
    return;
  }
  const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
  const filter = filterOf(options);
  const subscribing = options.hasSubscription();
  const count = subscribing ? Infinity : Number(options.getCount() || '0');

  let backlog: StoredEvent[];
  let live: Matcher;
  let streamName: string | undefined;
  if (options.hasStream()) {
    const streamOptions = options.getStream()!;
    streamName = Buffer.from(streamOptions.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
    const stream = log.streams.get(streamName) ?? [];
    const Case = ReadReq.Options.StreamOptions.RevisionOptionCase;
    const which = streamOptions.getRevisionOptionCase();
    const last = stream.length - 1;
    const revision = which === Case.REVISION ? Number(streamOptions.getRevision()) : undefined;
    if (subscribing) {
      // Exclusive: from revision r, the events after r.
      const from = which === Case.START ? 0 : which === Case.END ? stream.length : revision! + 1;
      backlog = stream.slice(from);
    } else if (!backwards) {
      backlog = stream.slice(which === Case.START ? 0 : which === Case.END ? stream.length : revision!);
    } else {
      const from = which === Case.START ? 0 : which === Case.END ? last : Math.min(revision!, last);
      backlog = stream.slice(0, from + 1).reverse();
    }
    const name = streamName;
    live = (event) => event.streamId === name;
    if (!subscribing && stream.length === 0) {
      const notFound = new ReadResp.StreamNotFound();
      const identifier = new sharedPb.StreamIdentifier();
      identifier.setStreamName(Buffer.from(streamName, 'utf8'));
      notFound.setStreamIdentifier(identifier);
      const reply = new ReadResp();
      reply.setStreamNotFound(notFound);
      call.write(reply);
      call.end();
      return;
    }
  } else {
    const allOptions = options.getAll()!;
    const Case = ReadReq.Options.AllOptions.AllOptionCase;
    const which = allOptions.getAllOptionCase();
    const at =
      which === Case.POSITION
        ? {
            commit: BigInt(allOptions.getPosition()!.getCommitPosition()),
            prepare: BigInt(allOptions.getPosition()!.getPreparePosition()),
          }
        : undefined;
    if (subscribing) {
      // Exclusive: from a position, the events after it.
      backlog =
        which === Case.START ? [...log.all] : which === Case.END ? [] : log.all.filter((e) => compare(e, at!) > 0);
    } else if (!backwards) {
      // Inclusive: reading forwards from a position starts with the event at it.
      backlog =
        which === Case.START ? [...log.all] : which === Case.END ? [] : log.all.filter((e) => compare(e, at!) >= 0);
    } else {
      const before =
        which === Case.START ? [] : which === Case.END ? [...log.all] : log.all.filter((e) => compare(e, at!) < 0);
      backlog = before.reverse();
    }
    live = () => true;
  }

  const matches = filter?.matches ?? (() => true);
  let sent = 0;
  let searched = 0;
  const checkpoint = (event: StoredEvent): void => {
    if (!filter || !subscribing || options.hasStream()) return;
    if (++searched % filter.every !== 0) return;
    const point = new ReadResp.Checkpoint();
    point.setCommitPosition(event.commit.toString());
    point.setPreparePosition(event.prepare.toString());
    const reply = new ReadResp();
    reply.setCheckpoint(point);
    call.write(reply);
  };

  if (subscribing) {
    const confirmation = new ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    const reply = new ReadResp();
    reply.setConfirmation(confirmation);
    call.write(reply);
  }
  for (const event of backlog) {
    if (sent >= count) break;
    checkpoint(event);
    if (!matches(event)) continue;
    call.write(toReadEvent(event));
    sent++;
  }
  if (!subscribing) {
    call.end();
    return;
  }
  const caughtUp = new ReadResp();
  caughtUp.setCaughtUp(new ReadResp.CaughtUp());
  call.write(caughtUp);

  // Live: synchronous with the backlog above, so nothing falls between them.
  const unlisten = log.listen((events) => {
    for (const event of events) {
      if (!live(event)) continue;
      checkpoint(event);
      if (matches(event)) call.write(toReadEvent(event));
    }
  });
  const end = (): void => {
    unlisten();
    liveCalls.delete(end);
  };
  liveCalls.add(end);
  call.on('cancelled', end);
  call.on('close', end);
  call.on('error', end);
}
