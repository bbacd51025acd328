import { createHash, randomBytes } from 'node:crypto';
import { login } from '../accounts/user.service.js';
import { CONSOLE_KEY, type Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { userView, type UserView } from '../users/user.view.js';
import { recordAudit } from '../audit/audit.repository.js';
import { deleteLapsedSessions, deleteSession, endSession, insertSession, touchSession, type SessionLifetimes } from './session.repository.js';

/** A signed-in staff member: who, and the token every state-changing form must carry. */
export interface ConsoleSession {
  staff: UserView;
  csrfToken: string;
  /** Whom the trail names for what this session does. */
  actor: Actor;
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
const newToken = () => randomBytes(32).toString('base64url');

function lifetimes(deps: AppDeps): SessionLifetimes {
  return { idleMs: deps.config.CONSOLE_SESSION_IDLE_TIMEOUT, maxAgeMs: deps.config.CONSOLE_SESSION_MAX_AGE };
}

export const consoleActor = (username: string): Actor => ({ name: username, key: CONSOLE_KEY });

/**
 * Signs a staff member in through the login the public endpoint uses (password check, R10's
 * recorded login), refusing anyone without staff status before their login is recorded.
 * Returns the cookie's token: 256 random bits, of which the database keeps only a digest.
 */
export async function signIn(deps: AppDeps, loginName: string, password: string): Promise<{ token: string; session: ConsoleSession }> {
  const staff = await login(deps, loginName, password, { staffOnly: true, via: CONSOLE_KEY });
  const token = newToken();
  const csrfToken = newToken();
  await deleteLapsedSessions(deps.db, lifetimes(deps));
  // The password changed between the check and here: as if it had been wrong.
  if (!(await insertSession(deps.db, { tokenHash: digest(token), userId: staff.id, csrfToken }))) {
    throw new DomainError('InvalidCredentials', 'The login or the password is wrong.');
  }
  return { token, session: { staff, csrfToken, actor: consoleActor(staff.username) } };
}

/**
 * The session a cookie names, if it still counts (see touchSession for every rule that ends
 * one); a session that no longer counts is removed, so it cannot come back.
 */
export async function currentSession(deps: AppDeps, token: string | undefined): Promise<ConsoleSession | undefined> {
  if (!token || token.length > 100) return undefined;
  const row = await touchSession(deps.db, digest(token), lifetimes(deps));
  if (!row) {
    await deleteSession(deps.db, digest(token));
    return undefined;
  }
  const { csrf_token: csrfToken, ...user } = row;
  return { staff: userView(user), csrfToken, actor: consoleActor(user.username) };
}

/** Ends the session on the server (the cookie alone would not), recorded with the staff member as actor. */
export async function signOut(deps: AppDeps, token: string): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    const ended = await endSession(tx, digest(token));
    if (ended) await recordAudit(tx, { actor: consoleActor(ended.username), action: 'user.logout', userId: ended.user_id });
  });
}
