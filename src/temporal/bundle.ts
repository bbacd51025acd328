import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from './payload-codec.js';
import { workflowsPath } from './worker.js';
import { activeTracing, tracingConfigured, workflowTracingModule } from '../telemetry.js';

/**
 * The workflow bundle, built once (tests and the benchmark share it between workers); webpack's
 * progress lines are dropped, its errors are not. With tracing configured (OTEL_* env, telemetry.ts)
 * it also holds the OpenTelemetry workflow interceptors.
 */
export function bundleInvitationWorkflows(onError: (message: string) => void = (m) => console.error(m), { tracing = Boolean(activeTracing()) || tracingConfigured() } = {}) {
  const quiet = () => {};
  return bundleWorkflowCode({
    workflowsPath,
    // The OpenTelemetry workflow interceptors only when tracing is on: without the worker's
    // `exporter` sink they would log an error for every workflow task.
    ...(tracing && { workflowInterceptorModules: [workflowTracingModule] }),
    // The sandbox converts workflow failures itself, so it needs the same failure converter.
    failureConverterPath,
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: onError },
  });
}
