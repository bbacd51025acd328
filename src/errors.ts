/**
 * Business failures, one string union for the whole service. Activities raise them as
 * non-retryable ApplicationFailures with the same `type`; the HTTP layer maps each type to
 * exactly one status (src/api/problem.ts). Transient faults are plain errors and retried.
 */
export const failureStatus = {
  ValidationFailed: 422,
  WeakPassword: 422,
  UsernameTaken: 409,
  EmailTaken: 409,
  InvitationAlreadyAccepted: 409,
  InvitationNotPending: 409,
  ResendNotAllowed: 409,
  UserNotInactive: 409,
  WebhookEndpointDisabled: 409,
  UserNotFound: 404,
  InvitationNotFound: 404,
  EmailNotFound: 404,
  NotFound: 404,
  WebhookNotFound: 404,
  WebhookDeliveryNotFound: 404,
  MethodNotAllowed: 405,
  LinkInvalidOrExpired: 410,
  InvitationExpired: 410,
  InvalidCredentials: 401,
  AccountInactive: 403,
  /** Right password, but the console is for staff only. */
  NotStaff: 403,
  /** An API key without the scope an operation needs (`requiredScope` names it). */
  MissingScope: 403,
  Unauthorized: 401,
  MalformedJson: 400,
  UnsupportedMediaType: 415,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  /** Re-sends of one mail or to one recipient exceed RESEND_LIMIT_* within the window (`limit` says which). */
  ResendLimited: 429,
  DependencyUnavailable: 503,
  /** This process already has as many of these requests in flight as it admits (src/api/admission.ts). */
  Overloaded: 503,
  MailRejected: 502,
  /** A workflow step found its database record gone (restore, manual delete). */
  RecordGone: 404,
  /** The same Idempotency-Key with a different request body. */
  IdempotencyKeyReused: 422,
  /** A row of a bulk invitation names a user an earlier row of the same file already names. */
  DuplicateInBatch: 409,
  /** No bulk invitation with this id (for this caller). */
  BatchNotFound: 404,
} as const;

export type FailureType = keyof typeof failureStatus;

export interface FieldError {
  /** JSON pointer-ish path of the field, e.g. "email" or "permissions/2". */
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; allow?: string[]; [key: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && Object.hasOwn(failureStatus, value);
}
