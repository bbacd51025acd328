/**
 * The scopes a named API key can hold (fixed by the contract). ADMIN_API_KEY, the bootstrap
 * key, holds all of them and, alone, may manage keys: no scope lets a key mint or revoke keys,
 * so a leaked named key can never widen its own reach.
 */
export const scopes = ['invitations:write', 'users:read', 'users:write', 'emails:write', 'templates:write', 'webhooks:write', 'audit:read'] as const;

export type Scope = (typeof scopes)[number];

export const isScope = (value: string): value is Scope => (scopes as readonly string[]).includes(value);
