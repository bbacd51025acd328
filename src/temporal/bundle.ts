import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from './payload-codec.js';
import { workflowsPath } from './worker.js';

/**
 * The workflow bundle, built once (tests and the benchmark share it between workers); webpack's
 * progress lines are dropped, its errors are not.
 */
export function bundleInvitationWorkflows(onError: (message: string) => void = (m) => console.error(m)) {
  const quiet = () => {};
  return bundleWorkflowCode({
    workflowsPath,
    // The sandbox converts workflow failures itself, so it needs the same failure converter.
    failureConverterPath,
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: onError },
  });
}
