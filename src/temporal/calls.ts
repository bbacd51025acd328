import {
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  type Client,
  type ConnectionOptions,
} from '@temporalio/client';
import { ApplicationFailure, type SignalDefinition } from '@temporalio/common';
import { DomainError, isFailureType } from '../errors.js';

/**
 * How the API connects to Temporal. The SDK's default retries an unreachable server for
 * about ten seconds; a person or platform waiting on an HTTP answer is better served by a
 * fast, truthful 503 that they can retry (three tries, about half a second).
 */
export function apiConnectionOptions(address: string): ConnectionOptions {
  return {
    address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 }))],
    // After a lost connection grpc-js waits 1 s, then 1.6 times longer after each failed try, up
    // to 2 minutes, and fails every call at once while it waits: after an outage of half a
    // minute the API went on answering 503 for 8-15 s with Temporal back (issue 19.6). Tries at
    // most a second apart cost one TCP connect each while the server is down.
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 1000 },
  };
}

/**
 * Runs a Temporal call with a deadline, turning business failures into DomainErrors and
 * outages into 503s that say what is known. A call that failed may still have reached the
 * server (a connection can break mid-request, a slow server can finish after the deadline),
 * so `whenUnsure` (if given) looks: it returns the result after all, or the error to answer.
 */
export async function temporalCall<T>(client: Client, call: () => Promise<T>, whenUnsure?: () => Promise<T>): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, call);
  } catch (error) {
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
      const extra = (cause.details?.[0] as Record<string, unknown> | undefined) ?? {};
      throw new DomainError(cause.type, cause.message, extra);
    }
    if (error instanceof ServiceError || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcServiceError(error)) {
      const unreachable = grpcCode(error) === GRPC_UNAVAILABLE;
      if (!whenUnsure) throw unreachable ? unreachableError() : unsure();
      return whenUnsure().catch((lookup: unknown) => {
        if (lookup instanceof DomainError) throw lookup;
        throw unreachable || grpcCode(lookup) === GRPC_UNAVAILABLE ? unreachableError() : unsure();
      });
    }
    throw error;
  }
}

/** Refused at once, with nothing reaching the server, unless a connection broke mid-call. */
export const unreachableError = () => {
  const error = new DomainError(
    'DependencyUnavailable',
    'The workflow service is unreachable, so this was not done, unless the connection broke in the middle of the request. Try again shortly: with the same Idempotency-Key a retry is always safe.',
    { retryAfterSeconds: 5 },
  );
  unreachable.add(error);
  return error;
};
const unreachable = new WeakSet<DomainError>();
/** The call never reached the server (as far as can be known): what it would have done was not done. */
export const wasUnreachable = (error: unknown) => error instanceof DomainError && unreachable.has(error);

const unsure = () =>
  new DomainError('DependencyUnavailable', 'The workflow service did not answer in time, and whether the change took effect is not known. Look it up before trying again.', {
    retryAfterSeconds: 5,
  });

const TEMPORAL_DEADLINE_MS = 10_000;
const GRPC_UNAVAILABLE = 14; // grpc.status.UNAVAILABLE: connection refused or lost before the call

function grpcCode(error: unknown): number | undefined {
  for (let e: any = error; e; e = e.cause) if (typeof e.code === 'number') return e.code;
  return undefined;
}

/**
 * Tells a workflow about a change the database already committed. Best effort by design:
 * if the signal is lost, the workflow's own deadline step reads the record and agrees.
 */
export async function signalBestEffort<Args extends unknown[]>(
  deps: { temporal: Client; log: { warn(obj: object, msg: string): void } },
  workflowId: string,
  signal: SignalDefinition<Args>,
  ...args: Args
): Promise<void> {
  try {
    await deps.temporal.workflow.getHandle(workflowId).signal(signal, ...args);
  } catch (error) {
    deps.log.warn({ workflowId, signal: signal.name, err: (error as Error).message }, 'could not signal the workflow; its deadline step will reconcile');
  }
}
