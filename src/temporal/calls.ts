import {
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type SignalDefinition } from '@temporalio/common';
import { DomainError, isFailureType } from '../errors.js';

/**
 * Runs a Temporal call with a deadline, turning business failures into DomainErrors and
 * outages into 503 (the SDK would otherwise retry an unreachable server for a long time).
 */
export async function temporalCall<T>(client: Client, call: () => Promise<T>): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, call);
  } catch (error) {
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
      const extra = (cause.details?.[0] as Record<string, unknown> | undefined) ?? {};
      throw new DomainError(cause.type, cause.message, extra);
    }
    if (error instanceof ServiceError || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcServiceError(error)) {
      const code = grpcCode(error);
      throw new DomainError(
        'DependencyUnavailable',
        code === GRPC_UNAVAILABLE
          ? 'The workflow service is unreachable; nothing was changed. Try again.'
          : 'The workflow service did not answer in time. The invitation may have been created: look the user up before trying again.',
      );
    }
    throw error;
  }
}

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
