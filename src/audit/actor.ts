/**
 * Who acts, and through which credential: the audit trail records both. Staff act through
 * the API (the `X-Actor` header names them, `api` when it is absent) with either the bootstrap
 * key (ADMIN_API_KEY) or a named API key; the service itself acts as `system` (expiry,
 * midnight); users act as themselves (accepting, logging in, resetting), with no key.
 */
export interface Actor {
  name: string;
  /** `bootstrap` for ADMIN_API_KEY, a named key's id, or null when no key was involved. */
  key: string | null;
}

export const BOOTSTRAP_KEY = 'bootstrap';

/** A staff member signed in to the console (src/console): acting with their own session, no key. */
export const CONSOLE_KEY = 'console';

export const SYSTEM: Actor = { name: 'system', key: null };

/** A user acting on their own account (accept, login, reset). */
export const selfActor = (username: string): Actor => ({ name: username, key: null });
