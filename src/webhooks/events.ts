import type { AuditAction } from '../audit/actions.js';
import type { Actor } from '../audit/actor.js';

/** The events the platform can subscribe to (README, "Webhooks"). */
export const WEBHOOK_EVENT_TYPES = [
  'user.invited',
  'invitation.accepted',
  'invitation.expired',
  'invitation.revoked',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'email.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Why a user became inactive: the lifetime ran out, R10's midnight, or staff ended it. */
export type DeactivationCause = 'expired' | 'midnight' | 'staff';

export interface WebhookEventDraft {
  type: WebhookEventType;
  data: Record<string, unknown>;
}

const pick = (details: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(keys.filter((k) => details[k] !== undefined && details[k] !== null).map((k) => [k, details[k]]));

/**
 * The one mapping from what the audit trail records to what the platform is told. Every
 * change already writes its audit row inside its own transaction, so deriving the events here
 * puts them in that same transaction, whichever service or activity made the change.
 * Data carries ids and reasons, no addresses: the platform reads the user by id if it needs more.
 * `apiKeyId`: the named key's id, `bootstrap` for ADMIN_API_KEY, null when no key acted (the service, a user).
 */
export function webhookEventsFor(action: AuditAction, actor: Actor, details: Record<string, unknown>, metadata?: Record<string, unknown>): WebhookEventDraft[] {
  // The key beside the name: X-Actor is the caller's word, the key is what authenticated it.
  // The platform's own metadata about the user (issue 17.3), so a receiver can route by its tenant.
  const by = metadata && Object.keys(metadata).length ? { actor: actor.name, apiKeyId: actor.key, metadata } : { actor: actor.name, apiKeyId: actor.key };
  switch (action) {
    case 'user.invited':
      return [{ type: 'user.invited', data: { ...by, ...pick(details, 'invitationId', 'expiresAt') } }];
    case 'invitation.accepted':
      return [{ type: 'invitation.accepted', data: { ...by, ...pick(details, 'invitationId'), via: 'invitation_link' } }];
    case 'password.reset_completed': {
      // A reset also accepts a pending invitation (R12) and brings an inactive user back (R9).
      const events: WebhookEventDraft[] = [];
      if (details.acceptedInvitationId) events.push({ type: 'invitation.accepted', data: { ...by, invitationId: details.acceptedInvitationId, via: 'password_reset' } });
      if (details.previousStatus === 'inactive') events.push({ type: 'user.reactivated', data: { ...by, via: 'password_reset' } });
      return events;
    }
    case 'invitation.expired':
      return [
        { type: 'invitation.expired', data: { ...by, ...pick(details, 'invitationId') } },
        { type: 'user.deactivated', data: { ...by, reason: 'expired' satisfies DeactivationCause, ...pick(details, 'invitationId') } },
      ];
    case 'invitation.revoked':
      return [
        { type: 'invitation.revoked', data: { ...by, ...pick(details, 'invitationId') } },
        { type: 'user.deactivated', data: { ...by, reason: 'staff' satisfies DeactivationCause, cause: 'invitation_revoked', ...pick(details, 'invitationId') } },
      ];
    case 'user.overwritten':
      return [{ type: 'user.deactivated', data: { ...by, reason: 'staff' satisfies DeactivationCause, cause: 'overwritten', invitationId: details.endedInvitationId ?? null } }];
    case 'user.reactivation_expired':
      return [{ type: 'user.deactivated', data: { ...by, reason: 'midnight' satisfies DeactivationCause, ...pick(details, 'deadline') } }];
    case 'user.reactivated':
      return [{ type: 'user.reactivated', data: { ...by, via: 'staff', ...pick(details, 'deadline') } }];
    case 'user.deleted':
      return [{ type: 'user.deleted', data: by }];
    case 'email.failed':
      return [{ type: 'email.failed', data: { ...by, ...pick(details, 'emailId', 'emailType', 'invitationId', 'error') } }];
    default:
      return [];
  }
}
