import type { Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { inviteUser } from '../invitations/invitation.service.js';
import { findStaffUsers } from '../users/user.repository.js';

export type FirstStaff =
  /** An active staff user exists: someone can sign in to the console already. */
  | { outcome: 'exists'; username: string }
  /** Staff users exist, but none is active: invited and without a password yet, or inactive. */
  | { outcome: 'waiting'; username: string; email: string }
  /** Nobody had staff status: this one was invited just now. */
  | { outcome: 'invited'; username: string; email: string }
  /** The name or address is held by a user without staff status; nothing was done. */
  | { outcome: 'taken'; username: string; email: string };

const STARTER: Actor = { name: 'npm start', key: null };

/**
 * `npm start` on a fresh data folder: the console needs a staff member to sign in, and staff
 * are users like any other (invited, then a password). So the first one is invited like any
 * other, to the local mail catcher, through the invitation service: no second way in, no
 * default password. Nothing happens when a staff user exists already.
 */
export async function inviteFirstStaffUnlessAny(deps: AppDeps, who: { username: string; email: string; locale: 'de' | 'en' }): Promise<FirstStaff> {
  const [staff] = await findStaffUsers(deps.db, 1);
  if (staff?.status === 'active') return { outcome: 'exists', username: staff.username };
  if (staff) return { outcome: 'waiting', username: staff.username, email: staff.email };
  try {
    await inviteUser(deps, { ...who, userType: deps.config.USER_TYPES[0]!, isStaff: true }, STARTER);
    return { outcome: 'invited', ...who };
  } catch (error) {
    if (error instanceof DomainError && (error.type === 'UsernameTaken' || error.type === 'EmailTaken')) return { outcome: 'taken', ...who };
    throw error;
  }
}
