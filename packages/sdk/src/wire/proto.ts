import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from './proto-dir.ts';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { ProtoGrpcType as CoordinatorProto } from './generated/coordinator.ts';
import type { ProtoGrpcType as ParticipantProto } from './generated/participant.ts';

/** The package's proto directory. */
export const PROTO_DIR = protoDir();

/** Options shared with proto:gen, so the generated types match what is loaded. */
export const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: (CoordinatorProto & ParticipantProto) | undefined;
let definition: protoLoader.PackageDefinition | undefined;

/** The package definition of twopc.v1 and grpc.health.v1 (what reflection serves). */
export function twopcDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(
    ['twopc/v1/coordinator.proto', 'twopc/v1/participant.proto', healthProtoPath],
    LOADER_OPTIONS,
  );
  return definition;
}

/** Loads twopc.v1 (both services) once. */
export function loadTwopcProto(): CoordinatorProto & ParticipantProto {
  cached ??= grpc.loadPackageDefinition(twopcDefinition()) as unknown as CoordinatorProto &
    ParticipantProto;
  return cached;
}

/** Converts a Date to a protobuf Timestamp. */
export function toTimestamp(date: Date | null): { seconds: string; nanos: number } | null {
  if (date === null) {
    return null;
  }
  const ms = date.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** Converts a protobuf Timestamp (longs as strings) to a Date. */
export function fromTimestamp(
  ts: { seconds: string; nanos: number } | null | undefined,
): Date | null {
  if (ts === null || ts === undefined) {
    return null;
  }
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}
