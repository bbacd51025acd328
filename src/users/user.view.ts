import type { InvitationRow, UserRow } from '../db/schema.js';

/** The user as the platform sees it (api.md): camelCase, ISO 8601 UTC, ids as strings. */
export function userView(u: UserRow) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    userType: u.user_type,
    isStaff: u.is_staff,
    permissions: u.permissions,
    status: u.status,
    locale: u.locale,
    emailVerified: u.email_verified_at !== null,
    createdAt: iso(u.created_at)!,
    activatedAt: iso(u.activated_at),
    lastLoginAt: iso(u.last_login_at),
    deactivatedAt: iso(u.deactivated_at),
    deactivationReason: u.deactivation_reason,
    metadata: u.metadata ?? {},
  };
}
export type UserView = ReturnType<typeof userView>;

export function invitationView(i: InvitationRow) {
  return {
    id: i.id,
    status: i.status,
    createdAt: iso(i.created_at)!,
    expiresAt: iso(i.expires_at)!,
    acceptedAt: iso(i.accepted_at),
    expiredAt: iso(i.expired_at),
    revokedAt: iso(i.revoked_at),
    invitedBy: i.created_by,
    workflowId: i.workflow_id,
  };
}

export function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
