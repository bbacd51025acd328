import { ActivityFailure, ApplicationFailure, log, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ResendRequest, ResendResult } from './mail.messages.js';
import { mailTaskQueue } from './task-queues.js';

type Activities = ReturnType<typeof createActivities>;

/**
 * SMTP attempts: startToClose is longer than the SMTP timeouts of one attempt together (at
 * most 90 s, enforced by the configuration), so an attempt ends by the mailer's own timeout
 * and is logged as `retrying`. A worker that died mid-attempt stops heartbeating: the server
 * sees it within the heartbeat timeout and the mail is retried within seconds, not after
 * startToClose (a short-lived link would otherwise die first).
 * 4xx and connection errors are retried with backoff for up to `retryFor`; the activity
 * logs the time of the next try. A 5xx is a non-retryable MailRejected.
 * They run on the mail task queue, with slots of their own (task-queues.ts).
 */
export function mailActivities(retryFor: string, maximumInterval: string) {
  return proxyActivities<Activities>({
    // A getter: these proxies are made when the module loads, but the workflow's own queue is
    // known only when an activity is scheduled (the SDK reads the options then). The queue is
    // not part of Temporal's determinism check: histories scheduled on the main queue replay
    // (test/replay.test.ts), and their activities still run there (the main worker has them).
    get taskQueue() {
      return mailTaskQueue(workflowInfo().taskQueue);
    },
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '5 seconds',
    scheduleToCloseTimeout: retryFor,
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval },
  });
}

// Quick database steps of the mail log, local like the invitation's (each is keyed or conditional).
const logStep = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export type MailOutcome = { mail: 'sent' | 'skipped' } | { mail: 'failed'; error: string };

/**
 * The durable mail step, and re-sends through it. Deliveries started by the `resend` update
 * run in the background of the workflow; `idle()` tells the workflow when it may end.
 */
export function createMailStep(mail: Activities) {
  const deliveries = new Map<string, Promise<MailOutcome>>();
  let inFlight = 0;

  async function deliver(emailId: string): Promise<MailOutcome> {
    inFlight++;
    try {
      return { mail: await mail.deliverEmail({ emailId }) };
    } catch (error) {
      // The log shows the failure; staff can fix the cause and resend.
      const failure = businessFailure(error);
      await logStep.markEmailFailed({ emailId, error: failure.message });
      log.warn('mail failed', { emailId });
      return { mail: 'failed', error: failure.message };
    } finally {
      inFlight--;
    }
  }

  const step = {
    /** One delivery per logged mail, however often it is asked for (a double click, a replayed update). */
    deliver(emailId: string): Promise<MailOutcome> {
      let delivery = deliveries.get(emailId);
      if (!delivery) {
        delivery = deliver(emailId);
        deliveries.set(emailId, delivery);
      }
      return delivery;
    },
    /** The `resend` update: log the copy (a typed failure when the link is dead), then send it in the background. */
    async resend(request: ResendRequest): Promise<ResendResult> {
      let copy: ResendResult;
      try {
        copy = await logStep.prepareResend(request);
      } catch (error) {
        throw businessFailure(error);
      }
      void step.deliver(copy.emailId);
      return copy;
    },
    /** No delivery is running: the workflow may end without cutting one off. */
    idle: () => inFlight === 0,
  };
  return step;
}

/** An activity's business failure, rethrown as the workflow's own (an update then fails, not the task). */
export function businessFailure(error: unknown): ApplicationFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: cause.type ?? undefined, message: cause.message, nonRetryable: true, details: cause.details ?? undefined });
  }
  return ApplicationFailure.create({ type: 'Unexpected', message: String((cause as Error)?.message ?? cause), nonRetryable: true });
}
