import type { AppDeps } from '../deps.js';
import type { UserStatus } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { decodeCursor, keysetPage } from '../paging.js';
import { recordAudit } from '../audit/audit.repository.js';
import { selfActor, type Actor } from '../audit/actor.js';
import { latestInvitationForUser, latestInvitationsForUsers } from '../invitations/invitation.repository.js';
import { latestEmailOfUser } from '../mail/email-log.repository.js';
import { emailStatusView } from '../mail/email.view.js';
import { verifyPassword } from '../passwords/hashing.js';
import { canonicalLogin } from '../users/identity.js';
import { recordLogin } from '../users/account-status.js';
import { isUuid } from '../users/ids.js';
import { findUserById, findUserByLoginKey, listUsers } from '../users/user.repository.js';
import { invitationView, userView } from '../users/user.view.js';

export async function getUser(deps: AppDeps, id: string) {
  const user = isUuid(id) ? await findUserById(deps.db, id) : undefined;
  if (!user) throw new DomainError('UserNotFound', `No user ${id}.`);
  const invitation = await latestInvitationForUser(deps.db, id);
  // "Did the invitation go out?" (R13) without a second call: the latest one, a copy included.
  const mail = await latestEmailOfUser(deps.db, id, 'user_invitation');
  return { ...userView(user), invitation: invitation ? invitationView(invitation) : null, invitationEmail: mail ? emailStatusView(mail) : null };
}

export async function listUserOverview(
  deps: AppDeps,
  query: { status?: UserStatus | undefined; q?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const rows = await listUsers(deps.db, {
    status: query.status,
    q: query.q,
    limit: query.limit + 1,
    after: query.cursor ? decodeCursor(query.cursor) : undefined,
  });
  return keysetPage(rows, query.limit, userView);
}

/** The overview with each user's latest invitation (sent when, valid until), as the console shows it. */
export async function listUserOverviewWithInvitations(deps: AppDeps, query: Parameters<typeof listUserOverview>[1]) {
  const page = await listUserOverview(deps, query);
  const invitations = await latestInvitationsForUsers(deps.db, page.items.map((u) => u.id));
  const byUser = new Map(invitations.map((i) => [i.user_id, invitationView(i)]));
  return { ...page, items: page.items.map((u) => ({ ...u, invitation: byUser.get(u.id) ?? null })) };
}

/**
 * Verifies a username-or-email and password and records the login (R10 hangs on it).
 * Unknown login, missing password and wrong password all take the same time and answer.
 * The console signs in through here too: `staffOnly` refuses anyone else before a login is
 * recorded, and `via` marks where the login happened in the trail.
 */
export async function login(deps: AppDeps, loginName: string, password: string, options: { staffOnly?: boolean; via?: Actor['key'] } = {}) {
  const user = await findUserByLoginKey(deps.db, canonicalLogin(loginName));
  const ok = await verifyPassword(user?.password_hash ?? null, password);
  if (!user || !ok) throw new DomainError('InvalidCredentials', 'The login or the password is wrong.');
  if (user.status === 'inactive') throw inactive(deps);
  if (user.status !== 'active') throw new DomainError('InvalidCredentials', 'The login or the password is wrong.');
  if (options.staffOnly && !user.is_staff) throw new DomainError('NotStaff', 'Only users with staff status may sign in here.');
  const updated = await deps.db.transaction().execute(async (tx) => {
    const row = await recordLogin(tx, user.id);
    if (row) await recordAudit(tx, { actor: { ...selfActor(user.username), key: options.via ?? null }, action: 'user.login', userId: user.id });
    return row;
  });
  // Midnight (R10) may have deactivated the user between the check above and the update.
  if (!updated) throw inactive(deps);
  return userView(updated);
}

/**
 * The account a login names, for counting failed logins: every spelling of one user shares
 * its id; an unknown name counts as its canonical form. One indexed lookup either way.
 */
export async function loginAccountKey(deps: AppDeps, loginName: string): Promise<string> {
  const key = canonicalLogin(loginName);
  const user = await findUserByLoginKey(deps.db, key);
  return user ? `user:${user.id}` : `login:${key}`;
}

function inactive(deps: AppDeps): DomainError {
  return new DomainError('AccountInactive', 'This account is inactive. Use "forgot password" to set a new password; that reactivates it.', {
    passwordResetUrl: `${deps.config.PUBLIC_BASE_URL}/password/forgot`,
  });
}
