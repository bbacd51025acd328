import type { EmailRow } from '../db/schema.js';
import type { FailureType } from '../errors.js';
import type { DeadLinkReason } from './link-state.repository.js';

/**
 * Why a re-send (R7) is refused, said once for the API's check and the workflow's: an
 * accepted or revoked invitation is a conflict (409); an expired one is gone (410), and the
 * way forward is R11's.
 */
export function resendRefusal(email: Pick<EmailRow, 'invitation_id'>, reason: DeadLinkReason): { type: FailureType; message: string } {
  if (email.invitation_id) {
    switch (reason) {
      case 'accepted':
        return { type: 'InvitationAlreadyAccepted', message: 'The invitation was already accepted; the user can log in, or use "forgot password".' };
      case 'revoked':
        return { type: 'InvitationNotPending', message: 'The invitation was revoked; its link no longer works. To invite this person again, delete the user or overwrite its username and email, then invite anew (R11).' };
      case 'overwritten':
        return { type: 'InvitationNotPending', message: 'The user was overwritten (R11): its invitation ended with it, and its link no longer works. Invite the new person anew.' };
      case 'expired':
        return {
          type: 'InvitationExpired',
          message: 'The invitation has expired, so its link no longer works and cannot be re-sent. Delete the user, or overwrite its username and email address (PATCH /api/v1/users/{id}), so both are free again, then invite anew (R11).',
        };
      default:
        return { type: 'ResendNotAllowed', message: `The invitation's link no longer works (${reason}).` };
    }
  }
  switch (reason) {
    case 'used':
    case 'expired':
      return { type: 'LinkInvalidOrExpired', message: `The reset link in this mail was ${reason === 'used' ? 'already used' : 'valid only for a while and has expired'}; the user can ask for a new one with "forgot password".` };
    case 'superseded':
      return { type: 'ResendNotAllowed', message: 'A newer reset mail replaced this one; only the newest reset link works.' };
    default:
      return { type: 'ResendNotAllowed', message: `The reset link in this mail no longer works (${reason}).` };
  }
}

/** The copy's business key in the log: one Idempotency-Key, one copy (api.md). */
export const resendKey = (idempotencyKey: string) => `resend:${idempotencyKey}`;
