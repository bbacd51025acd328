import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';

type History = proto.temporal.api.history.v1.History;

/**
 * A history exported as JSON (Temporal UI's download, `temporal workflow show -o json`) as
 * the SDK's History. The SDK's own historyFromJSON fails in this install ("type must be a
 * Type"): npm gives @temporalio/common, /proto and /worker each a copy of protobufjs 8 (the
 * top level holds grpc's protobufjs 7), and protojson's instanceof check fails across copies.
 * This is the same parse with the copy that built the proto root.
 */
const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const { fromJson } = requireFromProto('protobufjs/ext/protojson') as { fromJson(type: unknown, json: unknown, options: object): unknown };
// The generated module's types lack protobufjs' lookupType (the SDK casts it the same way).
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyFromJson(json: unknown): History {
  const history = fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new TypeError('not a workflow history');
  return history;
}
