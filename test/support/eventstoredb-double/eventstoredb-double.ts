/**
 * An in-process, wire-compatible EventStoreDB for tests: a gRPC server on the very service
 * definitions and message classes that `@eventstore/db-client` ships, so the real client talks to it
 * exactly as it talks to a server. It imitates EventStoreDB v24.10 (the image docker/compose.yml
 * runs), checked against that server's source; README.md beside this file says what it does and
 * what it leaves out. Test support only, never production.
 *
 * - ServerFeatures advertises Read, Append and BatchAppend, so client 6.x appends through the
 *   shared BatchAppend stream, as it does against a real server (append.ts).
 * - Reads and catch-up subscriptions, with server-side filters and checkpoints (read.ts).
 * - One log, every event at its own position (log.ts).
 * - Test controls: drop a batch append before or after it is written, hold batch-append requests
 *   as a busy server reads them late, hold reads as a hung server would, count appends per
 *   method, restart, stop and start.
 */
import { AppendControls, DEFAULT_LIMITS, append, batchAppend, type AppendContext, type AppendLimits } from './append';
import { featuresGrpc, featuresPb, grpc, streamsGrpc, type grpcTypes, type StreamsPb } from './grpc';
import { InMemoryLog } from './log';
import { read, ReadControls } from './read';

export { InMemoryLog, type StoredEvent } from './log';
export {
  AppendControls,
  DEFAULT_LIMITS,
  eventSize,
  type AppendLimits,
  type BatchAppendFault,
  type HeldRequests,
} from './append';
export { ReadControls } from './read';

/** EventStoreDB's default MaxAppendSize. */
export const MAX_APPEND_SIZE = DEFAULT_LIMITS.maxAppendSize;
/** The server version the double answers with. */
export const SERVER_VERSION = '24.10.4';

export interface DoubleOptions {
  /** Writes a `$statsCollected` system event after every this many appends (0: never). Default 3. */
  readonly statsEvery?: number;
  /** A port to listen on; default a free one. */
  readonly port?: number;
  /** The server's append limits and write timeout; EventStoreDB's defaults otherwise. */
  readonly limits?: Partial<AppendLimits>;
}

export interface EventStoreDbDouble {
  /** `esdb://127.0.0.1:<port>?tls=false` */
  readonly connectionString: string;
  readonly port: number;
  readonly log: InMemoryLog;
  /** Faults to inject into appends, and counts of appends per method. */
  readonly appends: AppendControls;
  /** Reads and subscriptions: how many, and holding them unanswered. */
  readonly reads: ReadControls;
  /** Drops every connection and stops listening; the data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  start(): Promise<void>;
  /** Drops every connection and listens again at once (a server restart). */
  restart(): Promise<void>;
}

export async function startEventStoreDbDouble(options: DoubleOptions = {}): Promise<EventStoreDbDouble> {
  const log = new InMemoryLog(options.statsEvery ?? 3);
  const limits: AppendLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const controls = new AppendControls();
  const readControls = new ReadControls();
  const liveCalls = new Set<() => void>();
  let server: grpcTypes.Server | undefined;
  let port = options.port ?? 0;
  let restarting: Promise<void> | undefined;

  const stop = async (): Promise<void> => {
    for (const end of [...liveCalls]) end();
    server?.forceShutdown();
    server = undefined;
  };
  const listen = async (): Promise<void> => {
    const next = new grpc.Server();
    next.addService(featuresGrpc.ServerFeaturesService, { getSupportedMethods });
    next.addService(streamsGrpc.StreamsService, {
      read: (call: grpcTypes.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>) =>
        read({ log, liveCalls, controls: readControls }, call),
      append: (
        call: grpcTypes.ServerReadableStream<StreamsPb.AppendReq, StreamsPb.AppendResp>,
        callback: grpcTypes.sendUnaryData<StreamsPb.AppendResp>,
      ) => append(context, call, callback),
      batchAppend: (call: grpcTypes.ServerDuplexStream<StreamsPb.BatchAppendReq, StreamsPb.BatchAppendResp>) =>
        batchAppend(context, call),
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
  const restart = async (): Promise<void> => {
    await stop();
    await listen();
  };
  const context: AppendContext = {
    log,
    limits,
    controls,
    dropConnections: () => {
      const done = restart().finally(() => (restarting = undefined));
      restarting = done;
      return done;
    },
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
    appends: controls,
    reads: readControls,
    async stop() {
      await restarting;
      await stop();
    },
    async start() {
      await restarting;
      await listen();
    },
    async restart() {
      await restarting;
      await restart();
    },
  };
}

function unimplemented(call: unknown, callback?: (error: Partial<grpcTypes.ServiceError>) => void): void {
  const error = { code: grpc.status.UNIMPLEMENTED, details: 'not supported by the test double' };
  if (typeof callback === 'function') callback(error);
  else (call as grpcTypes.ServerWritableStream<unknown, unknown>).emit('error', error);
}

/** What a v24.10 server advertises of what the double implements: BatchAppend included. */
function getSupportedMethods(
  _call: grpcTypes.ServerUnaryCall<unknown, unknown>,
  callback: grpcTypes.sendUnaryData<InstanceType<typeof featuresPb.SupportedMethods>>,
): void {
  const methods = (
    [
      ['event_store.client.streams.streams', 'read', ['position', 'events']],
      ['event_store.client.streams.streams', 'append', []],
      ['event_store.client.streams.streams', 'batchappend', ['deadline_duration']],
      ['event_store.client.server_features.serverfeatures', 'getsupportedmethods', []],
    ] as const
  ).map(([service, method, features]) => {
    const supported = new featuresPb.SupportedMethod();
    supported.setServiceName(service);
    supported.setMethodName(method);
    supported.setFeaturesList([...features]);
    return supported;
  });
  const reply = new featuresPb.SupportedMethods();
  reply.setMethodsList(methods);
  reply.setEventStoreServerVersion(SERVER_VERSION);
  callback(null, reply);
}
