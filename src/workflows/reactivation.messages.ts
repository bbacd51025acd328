/** The manual-reactivation workflow's public surface (R10). */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const reactivationWorkflowId = (userId: string) => `reactivation-${userId}`;

export interface Reactivation {
  userId: string;
  /** When staff reactivated (for the record; the midnight check reads the database). */
  reactivatedAt: string;
  /** Next local midnight in PLATFORM_TIMEZONE, computed once by the API. */
  deadline: string;
}

export interface ReactivationState {
  current: Reactivation;
  outcome: 'kept' | 'deactivated' | 'superseded' | 'cancelled' | null;
}

/** Sent with signal-with-start: a second reactivation the same day moves no timer, starts none. */
export const reactivatedSignal = defineSignal<[Reactivation]>('reactivated');
/** The user was deleted: whatever was scheduled for it ends now. */
export const userDeletedSignal = defineSignal('userDeleted');
export const reactivationStateQuery = defineQuery<ReactivationState>('reactivationState');

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type ReactivationWorkflow = (first: Reactivation) => Promise<ReactivationState>;
