/**
 * The invitation workflow's public surface: ids, inputs, signals, updates and queries.
 * Services import this file without pulling in workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const invitationWorkflowId = (userId: string) => `invitation-${userId}`;

/** Operators find a user's workflows in Temporal UI with `UserId = "…"` or `Username = "…"`. */
export const searchAttributes = {
  userId: defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD),
  username: defineSearchAttributeKey('Username', SearchAttributeType.KEYWORD),
  invitationStatus: defineSearchAttributeKey('InvitationStatus', SearchAttributeType.KEYWORD),
} as const;

/** The same list as `--search-attribute` flags (dev server) and for `temporal operator`. */
export const searchAttributeDefinitions = [
  { name: 'UserId', type: 'Keyword' },
  { name: 'Username', type: 'Keyword' },
  { name: 'InvitationStatus', type: 'Keyword' },
] as const;

export interface InvitationWorkflowInput {
  userId: string;
  invitationId: string;
  username: string;
  email: string;
  userType: string;
  isStaff: boolean;
  permissions: string[];
  locale: 'de' | 'en';
  invitedBy: string | null;
  /** The key staff invited with (`bootstrap` or a named key's id), for the audit trail; absent in older workflows. */
  invitedVia?: string | null;
  /** INVITATION_TTL in milliseconds: the deadline from workflow time, when `expiresAt` is absent. */
  ttlMs: number;
  /** The deadline the API registered the invitation with (it does so right after the start). */
  expiresAt?: string;
  /**
   * INVITATION_REMINDER in milliseconds: one reminder this long before the deadline. Absent or
   * null (and in workflows started before reminders existed): none.
   */
  reminderMs?: number | null;
  /** The platform's metadata for the user (src/users/metadata.ts); absent in older workflows. */
  metadata?: Record<string, string | number | boolean>;
  /** Where the accept page sends the invitee on to (checked against ACCEPT_REDIRECT_ORIGINS by the API). */
  redirectUrl?: string;
  /** Digest of the request, when it came with an Idempotency-Key. */
  requestFingerprint?: string | undefined;
  /** Whether the server knows our search attributes (not so on the time-skipping test server). */
  indexed?: boolean;
}

/** The user and the invitation as registered, by the API or by the workflow's first step. */
export interface Registration {
  user: {
    id: string;
    username: string;
    email: string;
    status: string;
  };
  invitation: { id: string; expiresAt: string };
}

/** `gone`: the database no longer has the invitation (a restore, a manual delete); see the log. */
export type InvitationOutcome = 'accepted' | 'expired' | 'revoked' | 'deleted' | 'rejected' | 'gone';

export interface InvitationState {
  phase: 'registering' | 'sending' | 'waiting' | 'expiring' | 'closed';
  userId: string;
  invitationId: string;
  expiresAt: string;
  emailId: string | null;
  /** skipped: revoked, deleted or accepted before the mail went out. */
  mail: 'pending' | 'sent' | 'failed' | 'skipped';
  mailError: string | null;
  /** The instant the reminder is due; null when there is none (off, or longer than the lifetime). */
  reminderAt: string | null;
  /** skipped: the invitation ended first, or nothing was left to remind of. */
  reminder: 'off' | 'scheduled' | 'sending' | 'sent' | 'failed' | 'skipped';
  reminderEmailId: string | null;
  outcome: InvitationOutcome | null;
  rejection: string | null;
}

/** The invitee set a password (the database already says so; this only ends the wait). */
export const acceptedSignal = defineSignal('accepted');
/** Staff revoked the invitation (likewise already committed in the database). */
export const revokedSignal = defineSignal('revoked');
export const stateQuery = defineQuery<InvitationState>('state');
/** Staff renamed the user (R5): keeps the Username search attribute operators look for right. */
export const usernameChangedSignal = defineSignal<[string]>('usernameChanged');
/** The user was deleted: the invitation ends now (the database already says so). */
export const userDeletedSignal = defineSignal('userDeleted');

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type InvitationWorkflow = (input: InvitationWorkflowInput) => Promise<InvitationState>;
