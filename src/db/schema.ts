import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type UserStatus = 'invited' | 'active' | 'inactive';
export type InvitationStatus = 'pending' | 'accepted' | 'expired' | 'revoked';
export type EmailStatus = 'queued' | 'retrying' | 'sent' | 'failed';
export type EmailType = 'user_invitation' | 'password_reset' | 'invitation_reminder';
export type Locale = 'de' | 'en';
/** The platform's flat metadata about a user (src/users/metadata.ts has its rules). */
export type Metadata = Record<string, string | number | boolean>;

export interface UsersTable {
  id: string;
  username: string;
  /** Canonical form (NFKC, case-folded); unique among users not deleted. */
  username_key: string;
  /** UTS #39 skeleton of username_key; unique among users not deleted (no look-alikes). */
  username_skeleton: string;
  email: string;
  /** Canonical form (trimmed, lower-cased, IDNA domain); unique among users not deleted. */
  email_key: string;
  user_type: string;
  is_staff: boolean;
  permissions: ColumnType<string[], string[] | undefined, string[]>;
  locale: Locale;
  status: UserStatus;
  password_hash: string | null;
  email_verified_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  activated_at: Timestamp | null;
  last_login_at: Timestamp | null;
  deactivated_at: Timestamp | null;
  deactivation_reason: string | null;
  deleted_at: Timestamp | null;
  created_by: string | null;
  /** Set by a manual reactivation (R10); the user must log in before reactivation_deadline. */
  reactivated_at: Timestamp | null;
  reactivation_deadline: Timestamp | null;
  /** The platform's metadata given with the invitation (src/users/metadata.ts). */
  metadata: ColumnType<Metadata, Metadata | undefined, Metadata>;
}

export interface InvitationsTable {
  id: string;
  user_id: string;
  workflow_id: string;
  /** SHA-256 of the token, base64url; null until the mail with the link is prepared. */
  token_hash: string | null;
  status: InvitationStatus;
  created_at: CreatedAt;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  expired_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_by: string | null;
  /** Canonical address the link was mailed to; accepting confirms only that address. */
  link_email_key: string | null;
  /** Who the invitation was for (canonical keys at invitation); null for older rows. */
  invited_username_key: string | null;
  invited_email_key: string | null;
  /** Digest of the request that created it under an Idempotency-Key (null without a key). */
  request_fingerprint: string | null;
  /** Where the accept page sends the invitee on to (an allowed origin); null: ACCEPT_REDIRECT_URL. */
  redirect_url: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface EmailsTable {
  id: string;
  /** Business key of the mail (e.g. "invitation:<id>"), so a retried activity never logs twice. */
  idempotency_key: string;
  user_id: string;
  invitation_id: string | null;
  type: EmailType;
  locale: Locale;
  to_address: string;
  subject: string;
  /** Rendered bodies with the personal link replaced by a placeholder. */
  html_redacted: string;
  text_redacted: string;
  /** The personal link, encrypted (AES-256-GCM) so an exact copy can be sent later (R7). */
  link_ciphertext: string | null;
  status: EmailStatus;
  attempts: Generated<number>;
  created_at: CreatedAt;
  last_attempt_at: Timestamp | null;
  sent_at: Timestamp | null;
  error: string | null;
  message_id: string | null;
  /** The SMTP server's answer to a successful delivery (R13: "sent" means it accepted it). */
  smtp_response: string | null;
  /** The mail this one is an exact copy of (R7). */
  resent_from: string | null;
  /** While `retrying`: when the next try is due (the delay the activity asked Temporal for). */
  next_attempt_at: Timestamp | null;
  /** The reset link a password-reset mail carries, so its liveness can be checked. */
  password_reset_id: string | null;
  /** The template version the mail was rendered from; null for the built-in template. */
  template_version: number | null;
}

/** One version of an editable template (R6); subject and body both null: back to the built-in. */
export interface EmailTemplateVersionsTable {
  type: EmailType;
  locale: Locale;
  version: number;
  subject: string | null;
  body: string | null;
  created_at: CreatedAt;
  created_by: string | null;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string | null;
  action: string;
  user_id: string | null;
  details: ColumnType<Record<string, unknown>, string | Record<string, unknown>, never>;
  /** The credential the change came through: ADMIN_API_KEY, a named key or a console session; null for system and users themselves. */
  via: 'bootstrap' | 'api_key' | 'console' | null;
  api_key_id: string | null;
}

/** A staff member signed in to the console (src/console-sessions); only the token's SHA-256 is kept. */
export interface ConsoleSessionsTable {
  token_hash: string;
  user_id: string;
  /** Digest of the password hash the session began with: a new password ends the session. */
  password_fingerprint: string;
  csrf_token: string;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
}

/** A named API key (only its SHA-256 is kept); revoked, never deleted. */
export interface ApiKeysTable {
  id: string;
  name: string;
  scopes: ColumnType<string[], string[], never>;
  key_hash: string;
  /** The key's first characters, shown so staff can tell keys apart. */
  prefix: string;
  created_at: CreatedAt;
  created_by: string | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface PasswordResetsTable {
  id: string;
  user_id: string;
  token_hash: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  consumed_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
}

export type WebhookEndpointStatus = 'enabled' | 'disabled';
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookEndpointsTable {
  id: string;
  url: string;
  description: string | null;
  event_types: ColumnType<string[], string[], string[]>;
  /** The signing secret (whsec_…), sealed with EMAIL_ENCRYPTION_KEY. */
  secret_ciphertext: string;
  /** The secret the last rotation replaced, still signing beside the new one until `previous_secret_expires_at`. */
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Timestamp | null;
  status: Generated<WebhookEndpointStatus>;
  /** Start of the current run of failed attempts; null after any success. */
  failing_since: Timestamp | null;
  disabled_at: Timestamp | null;
  disabled_reason: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  created_by: string | null;
}

/** Per-user event counter; its row lock orders a user's events by commit. */
export interface WebhookUserSequencesTable {
  user_id: string;
  last_sequence: ColumnType<string, string | number, string | number>;
}

/** The outbox: one row per event, written in the transaction of the change it reports. */
export interface WebhookEventsTable {
  id: string;
  position: Generated<string>;
  user_id: string;
  sequence: ColumnType<string, string | number, string | number>;
  type: string;
  data: ColumnType<Record<string, unknown>, never, never>;
  created_at: CreatedAt;
  dispatched_at: Timestamp | null;
}

export interface WebhookDeliveriesTable {
  id: string;
  position: Generated<string>;
  endpoint_id: string;
  event_id: string;
  user_id: string;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  created_at: CreatedAt;
  handed_over_at: Timestamp | null;
  first_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  next_attempt_at: Timestamp | null;
  last_response_status: number | null;
  last_response_body: string | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
  redelivery_of: string | null;
  requested_by: string | null;
  /** The lease of the attempt in flight (one per lane at a time), and when it lapses. */
  attempt_token: string | null;
  attempt_until: Timestamp | null;
}

/** A bulk invitation (POST /api/v1/invitations/bulk); its rows are in bulk_rows. */
export interface BulkBatchesTable {
  id: string;
  principal: string;
  idempotency_key: string | null;
  request_fingerprint: string;
  workflow_id: string;
  total: number;
  /** BULK_INVITES_PER_SECOND when it was submitted. */
  per_second: number;
  created_by: string | null;
  created_by_key: string | null;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
}

export type BulkRowStatus = 'pending' | 'created' | 'failed';

export interface BulkRowsTable {
  batch_id: string;
  /** 1 = the first row after the header (CSV) or the first element of `rows` (JSON). */
  row_number: number;
  line: number | null;
  username: string;
  email: string;
  user_type: string;
  is_staff: boolean;
  permissions: ColumnType<string[], string[], string[]>;
  locale: string;
  status: BulkRowStatus;
  user_id: string | null;
  invitation_id: string | null;
  /** RFC 9457-like: type, title, status, detail, errors. */
  problem: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  finished_at: Timestamp | null;
}

/** Ids of EMAIL_ENCRYPTION_KEY keys some process listed; only these may seal (security.md 26a). */
export interface EmailEncryptionKeysTable {
  key_id: string;
  first_listed_at: CreatedAt;
}

export interface DB {
  password_resets: PasswordResetsTable;
  users: UsersTable;
  invitations: InvitationsTable;
  emails: EmailsTable;
  audit_events: AuditEventsTable;
  console_sessions: ConsoleSessionsTable;
  email_template_versions: EmailTemplateVersionsTable;
  api_keys: ApiKeysTable;
  email_encryption_keys: EmailEncryptionKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_user_sequences: WebhookUserSequencesTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  bulk_batches: BulkBatchesTable;
  bulk_rows: BulkRowsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type InvitationRow = Selectable<InvitationsTable>;
export type EmailRow = Selectable<EmailsTable>;
export type PasswordResetRow = Selectable<PasswordResetsTable>;
export type EmailTemplateVersionRow = Selectable<EmailTemplateVersionsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type BulkBatchRow = Selectable<BulkBatchesTable>;
export type BulkRowRow = Selectable<BulkRowsTable>;
