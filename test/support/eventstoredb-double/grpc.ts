/**
 * The client's own gRPC runtime and generated message classes, loaded from where
 * `@eventstore/db-client` finds them: its serializers check `instanceof` against these very
 * classes, so the double must build its replies with them.
 */
import path from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb';
import type * as StatusPb from '@eventstore/db-client/generated/status_pb';
import type * as FeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb';
import type * as AnyPb from 'google-protobuf/google/protobuf/any_pb';
import type * as EmptyPb from 'google-protobuf/google/protobuf/empty_pb';
import type * as Jspb from 'google-protobuf';

const clientRoot = path.dirname(require.resolve('@eventstore/db-client/package.json'));
const fromClient = <T>(request: string): T =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(require.resolve(request, { paths: [clientRoot] })) as T;

export const grpc = fromClient<typeof grpcTypes>('@grpc/grpc-js');
export const streamsPb = fromClient<typeof StreamsPb>(path.join(clientRoot, 'generated/streams_pb'));
export const sharedPb = fromClient<typeof SharedPb>(path.join(clientRoot, 'generated/shared_pb'));
export const statusPb = fromClient<typeof StatusPb>(path.join(clientRoot, 'generated/status_pb'));
export const featuresPb = fromClient<typeof FeaturesPb>(path.join(clientRoot, 'generated/serverfeatures_pb'));
export const streamsGrpc = fromClient<{ StreamsService: grpcTypes.ServiceDefinition }>(
  path.join(clientRoot, 'generated/streams_grpc_pb'),
);
export const featuresGrpc = fromClient<{ ServerFeaturesService: grpcTypes.ServiceDefinition }>(
  path.join(clientRoot, 'generated/serverfeatures_grpc_pb'),
);
export const anyPb = fromClient<typeof AnyPb>('google-protobuf/google/protobuf/any_pb');
export const emptyPb = fromClient<typeof EmptyPb>('google-protobuf/google/protobuf/empty_pb');
export const jspb = fromClient<typeof Jspb>('google-protobuf');

export type { grpcTypes, StreamsPb, SharedPb, StatusPb };

/** google.rpc.Code values the server uses in BatchAppend errors. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  ALREADY_EXISTS: 6,
  INTERNAL: 13,
} as const;

/** A google.rpc.Status whose details are one packed message, as the server's BatchAppend errors are. */
export function rpcStatus(code: number, message: string, details: Uint8Array, typeName: string): StatusPb.Status {
  const any = new anyPb.Any();
  any.pack(details, typeName);
  const status = new statusPb.Status();
  status.setCode(code);
  status.setMessage(message);
  status.setDetails(any);
  return status;
}

/** A gRPC error with the trailers the server puts on it (`exception` and its companions). */
export function serviceError(
  code: grpcTypes.status,
  details: string,
  trailers: Record<string, string> = {},
): Partial<grpcTypes.ServiceError> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

/** The 64-bit all-ones position the server sends for "End" (its Position.FromInt64(-1, -1)). */
export const END_POSITION = (1n << 64n) - 1n;

export const streamName = (identifier: SharedPb.StreamIdentifier | undefined): string =>
  identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';

export function streamIdentifier(name: string): SharedPb.StreamIdentifier {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(name, 'utf8'));
  return identifier;
}
