/** Every action the trail records; README "The audit trail" says what each one means. */
export const auditActions = [
  'user.invited',
  'invitation.accepted',
  'invitation.expired',
  'invitation.revoked',
  'user.login',
  'user.logout',
  'user.reactivated',
  'user.reactivation_expired',
  'user.updated',
  'user.overwritten',
  'user.deleted',
  'password.reset_completed',
  'email.resent',
  'email.failed',
  'email_template.changed',
  'email_template.reset',
  'api_key.created',
  'api_key.revoked',
  'webhook.endpoint_created',
  'webhook.endpoint_changed',
  'webhook.endpoint_secret_rotated',
  'webhook.endpoint_disabled',
  'webhook.endpoint_enabled',
  'webhook.endpoint_deleted',
] as const;

export type AuditAction = (typeof auditActions)[number];
