/**
 * The task queues beside a worker's own (TEMPORAL_TASK_QUEUE): SMTP attempts and webhook
 * deliveries each have one, served by the same worker process with slots of their own
 * (WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES, …_WEBHOOK_ACTIVITIES), so a hanging mail server or
 * a slow receiver cannot take the slots every other step needs (issue 19.4). Workflows derive
 * them from their own queue, so a worker on another TEMPORAL_TASK_QUEUE keeps its work apart.
 */
export const mailTaskQueue = (taskQueue: string) => `${taskQueue}-mail`;
export const webhookTaskQueue = (taskQueue: string) => `${taskQueue}-webhooks`;
