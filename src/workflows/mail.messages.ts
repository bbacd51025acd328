/**
 * The mail step's public surface, shared by every workflow that sends logged mails: the
 * `resend` update staff trigger from the email log (R7). Services import this file without
 * pulling in workflow code.
 */
import { defineUpdate } from '@temporalio/workflow';

export interface ResendRequest {
  /** The logged mail to copy. */
  originalEmailId: string;
  /** The Idempotency-Key the platform sent, or one the API chose: one key, one copy. */
  idempotencyKey: string;
  actor: string | null;
  /** The key staff acted with (`bootstrap` or a named key's id), for the audit trail; absent in older requests. */
  actorKey?: string | null;
}

export interface ResendResult {
  /** The copy's row in the email log; its delivery continues after the update returns. */
  emailId: string;
}

/** Logs an exact copy of a mail and delivers it through the workflow's durable mail step. */
export const resendUpdate = defineUpdate<ResendResult, [ResendRequest]>('resend');

/** Temporal deduplicates updates by id within a run: a double click runs the handler once. */
export const resendUpdateId = (keyDigest: string) => `resend-${keyDigest}`;

/** Reset mails are re-sent by a short workflow of their own, one per copy (its key). */
export const emailResendWorkflowId = (keyDigest: string) => `email-resend-${keyDigest}`;

export interface EmailResendWorkflowInput {
  originalEmailId: string;
}

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type EmailResendWorkflow = (input: EmailResendWorkflowInput) => Promise<{ emailIds: string[] }>;
