import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker, type ActivityInterceptors, type State, type WorkerOptions } from '@temporalio/worker';
import { activityFailures } from '../metrics.js';
import type { Duration, PayloadCodec } from '@temporalio/common';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { temporalTransport, type TemporalTransportSettings } from './connection.js';
import { dataConverterFor } from './payload-codec.js';
import type { Config } from '../config.js';
import { activeTracing, workflowTracingModule } from '../telemetry.js';
import { mailTaskQueue, webhookTaskQueue } from '../workflows/task-queues.js';

// The sources' index.ts, or its compiled index.js when this module runs from dist/ (npm run build).
const workflowsSource = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const workflowsPath = existsSync(workflowsSource) ? workflowsSource : workflowsSource.replace(/\.ts$/, '.js');

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Seals everything the worker hands to Temporal (loadPayloadCodec); runs outside the workflow sandbox. */
  payloadCodec: PayloadCodec;
  /** How long running activities may finish after shutdown() before they are cancelled (WORKER_SHUTDOWN_GRACE_TIME); unset: 5 s. */
  shutdownGraceTime?: Duration;
  /** A prebuilt bundle (tests build it once per run); otherwise bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tests wrap activities to simulate crashes; production passes nothing. */
  wrapActivities?: (activities: ReturnType<typeof createActivities>) => object;
  /** The configuration's WORKER_* knobs; unset: the SDK's defaults. */
  tuning?: WorkerTuning;
}

export type WorkerTuning = Pick<
  Config,
  | 'WORKER_MAX_CACHED_WORKFLOWS'
  | 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'
  | 'WORKER_MAX_CONCURRENT_ACTIVITIES'
  | 'WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES'
  | 'WORKER_STICKY_QUEUE_TIMEOUT'
  | 'WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES'
  | 'WORKER_MAX_CONCURRENT_WEBHOOK_ACTIVITIES'
>;

/** The SDK's Worker surface the processes use: run, shutdown, state. */
export type InvitationWorker = Pick<Worker, 'run' | 'shutdown' | 'getState'>;

/**
 * One worker for the process: the task queue's workflows and activities, plus a worker per
 * side queue (task-queues.ts) for SMTP attempts and webhook deliveries, each with its own
 * activity slots, so a hanging mail server cannot starve the webhooks or the database steps
 * (issue 19.4). Each side worker has every activity (only the workflows decide what goes
 * where). They run, shut down and fail together.
 */
export async function createInvitationWorker(setup: WorkerSetup): Promise<InvitationWorker> {
  const activities = createActivities(setup.deps);
  const served = setup.wrapActivities ? setup.wrapActivities(activities) : activities;
  const tuning = setup.tuning;
  const main = await createQueueWorker(setup, served, {
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath }),
    ...(tuning && {
      maxCachedWorkflows: tuning.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: tuning.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivityTaskExecutions: tuning.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivityExecutions: tuning.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      stickyQueueScheduleToStartTimeout: tuning.WORKER_STICKY_QUEUE_TIMEOUT,
    }),
  });
  const mail = await createQueueWorker(setup, served, {
    taskQueue: mailTaskQueue(setup.taskQueue),
    maxConcurrentActivityTaskExecutions: tuning?.WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES ?? 20,
  });
  const webhooks = await createQueueWorker(setup, served, {
    taskQueue: webhookTaskQueue(setup.taskQueue),
    maxConcurrentActivityTaskExecutions: tuning?.WORKER_MAX_CONCURRENT_WEBHOOK_ACTIVITIES ?? 20,
  });
  return workerGroup([main, mail, webhooks]);
}

function workerGroup(workers: Worker[]): InvitationWorker {
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  return {
    async run() {
      // One failing (a fatal poll error) stops the others, so the process sees it and exits.
      const results = await Promise.allSettled(
        workers.map((worker) =>
          worker.run().catch((error: unknown) => {
            shutdown();
            throw error;
          }),
        ),
      );
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
    getState(): State {
      const states = workers.map((worker) => worker.getState());
      return states.includes('RUNNING') ? 'RUNNING' : states[0]!;
    },
  };
}

async function createQueueWorker(setup: WorkerSetup, activities: object, options: Partial<WorkerOptions> & { taskQueue: string }): Promise<Worker> {
  const tracing = activeTracing();
  const hasWorkflows = Boolean(options.workflowBundle ?? options.workflowsPath);
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    dataConverter: dataConverterFor(setup.payloadCodec),
    activities,
    ...options,
    interceptors: {
      activity: [countFailures, ...(tracing ? [(ctx: ActivityContext) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] : [])],
      ...(tracing && hasWorkflows && { workflowModules: [workflowTracingModule] }),
    },
    // Tracing: workflow spans leave the sandbox through the `exporter` sink; activities continue
    // the workflow's trace (the mail activity's smtp.send span hangs below them). A prebuilt
    // bundle must have been built with tracing on too (bundle.ts), or workflow spans are missing.
    ...(tracing &&
      hasWorkflows && {
        sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
      }),
    // Shut down promptly: in-flight activities are retried elsewhere (they are idempotent).
    shutdownGraceTime: setup.shutdownGraceTime ?? '5 seconds',
  });
}

/** Counts each failed attempt (activityFailures): the worker's own record of a step that keeps failing. */
function countFailures(ctx: ActivityContext): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          const failure = error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : ((error as Error)?.name ?? 'Error');
          activityFailures.inc({ activity: ctx.info.activityType, local: String(ctx.info.isLocal), failure });
          throw error;
        }
      },
    },
  };
}

/** The worker's connection, with the same TLS, client certificate and API key as the API's client. */
export function connectWorkerTemporal(settings: TemporalTransportSettings, address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address, ...temporalTransport(settings) });
}
