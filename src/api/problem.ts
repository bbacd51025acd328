import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { DomainError, failureStatus, type FailureType, type FieldError } from '../errors.js';

/**
 * The one place where failures become HTTP: RFC 9457 problem documents
 * (application/problem+json), `type` a stable URI per failure, validation errors listed
 * field by field. Handlers throw; they never build error bodies.
 */
const titles: Record<FailureType, string> = {
  ValidationFailed: 'The request is not valid',
  WeakPassword: 'The password does not meet the rules',
  UsernameTaken: 'Username already in use',
  EmailTaken: 'Email address already in use',
  InvitationAlreadyAccepted: 'The invitation was already accepted',
  InvitationNotPending: 'The invitation is no longer pending',
  ResendNotAllowed: 'This mail can no longer be re-sent',
  UserNotInactive: 'The user is not inactive',
  WebhookEndpointDisabled: 'The webhook endpoint is disabled',
  UserNotFound: 'No such user',
  InvitationNotFound: 'No such invitation',
  EmailNotFound: 'No such email',
  NotFound: 'Not found',
  WebhookNotFound: 'No such webhook endpoint',
  WebhookDeliveryNotFound: 'No such webhook delivery',
  MethodNotAllowed: 'Method not allowed',
  LinkInvalidOrExpired: 'This link is invalid, used or expired',
  InvitationExpired: 'The invitation has expired',
  InvalidCredentials: 'Wrong login or password',
  AccountInactive: 'The account is inactive',
  NotStaff: 'Only staff may do this',
  MissingScope: 'The API key lacks the scope this operation needs',
  Unauthorized: 'Authentication required',
  MalformedJson: 'The body is not valid JSON',
  UnsupportedMediaType: 'Unsupported media type',
  PayloadTooLarge: 'The body is too large',
  TooManyRequests: 'Too many requests',
  ResendLimited: 'Too many copies of this mail, or to this recipient, for now',
  DependencyUnavailable: 'A service this one depends on is unavailable',
  Overloaded: 'Too many requests of this kind are in progress',
  MailRejected: 'The mail server rejected the mail',
  RecordGone: 'The record no longer exists',
  IdempotencyKeyReused: 'The Idempotency-Key was used for a different request',
  DuplicateInBatch: 'An earlier row of the same file already names this user',
  BatchNotFound: 'No such bulk invitation',
};

const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

export function problemBody(error: DomainError, instance?: string) {
  const { errors, retryAfterSeconds: _retryAfter, allow: _allow, ...extra } = error.extra;
  return {
    type: `https://invitations.dev/problems/${kebab(error.type)}`,
    title: titles[error.type],
    status: failureStatus[error.type],
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(errors ? { errors } : {}),
    ...extra,
  };
}

export function problemResponse(c: Context, error: DomainError): Response {
  const body = problemBody(error, new URL(c.req.url).pathname);
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' };
  if (error.extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.ceil(error.extra.retryAfterSeconds));
  if (error.type === 'Unauthorized') headers['www-authenticate'] = 'Bearer';
  if (error.extra.allow) headers.allow = error.extra.allow.join(', ');
  return new Response(JSON.stringify(body), { status: body.status, headers });
}

/**
 * Zod's issues as field errors. `input` is what the client sent (zod keeps no input in its
 * issues), so a field that is there with the wrong type is told apart from a missing one.
 */
export function fieldErrors(error: ZodError, input?: unknown): FieldError[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...issue.path, ...(keys.length === 1 ? keys : [])].map(String).join('/');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`;
    else if (issue.code === 'invalid_type') {
      const sent = valueAt(input, issue.path);
      message = sent === undefined ? 'is required' : `must be ${article(issue.expected)} ${issue.expected}, not ${kindOf(sent)}`;
    }
    return { field: path || '(body)', message };
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');
const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `${article(typeof value)} ${typeof value}`);

export function validationError(error: ZodError, input?: unknown): DomainError {
  const errors = fieldErrors(error, input);
  return new DomainError('ValidationFailed', `${errors.length} field${errors.length === 1 ? '' : 's'} need${errors.length === 1 ? 's' : ''} attention.`, { errors });
}

/** Everything unexpected becomes a plain 500 without internals; the log has the details. */
export function toDomainError(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400) return new DomainError('MalformedJson', 'The request body could not be parsed as JSON.');
    if (error.status === 413) return new DomainError('PayloadTooLarge', 'The request body exceeds the limit.');
    if (error.status === 415) return new DomainError('UnsupportedMediaType', 'Send the body as application/json.');
    if (error.status === 401) return new DomainError('Unauthorized', error.message || 'A valid bearer key is required.');
  }
  const pgCode = (error as { code?: unknown })?.code;
  if (databaseUnavailable(error)) {
    return new DomainError(
      'DependencyUnavailable',
      'The database is unavailable. Only what the database confirmed before it went away is kept: look the record up, or retry (an invitation with the same Idempotency-Key, which never invites twice).',
      { retryAfterSeconds: 5 },
    );
  }
  if (typeof pgCode === 'string' && /^[0-9A-Z]{5}$/.test(pgCode)) {
    // Safety nets; validation should have stopped such input first (and the log says so).
    if (pgCode.startsWith('22')) return new DomainError('ValidationFailed', 'A value in the request cannot be stored (e.g. a NUL byte or an invalid character).');
    if (pgCode === '40P01' || pgCode === '40001') return new DomainError('DependencyUnavailable', 'A concurrent change got in the way; nothing was changed. Try again.', { retryAfterSeconds: 1 });
  }
  return undefined;
}

/**
 * The database is down, restarting, refusing connections or cancelled the statement: a
 * 503 the client can retry, not a 500. postgres.js names its own connection failures; the
 * server's are SQLSTATE classes 08 (connection), 53300 (too many connections), 57P0x
 * (shutting down, cannot connect now) and 57014 (statement timeout).
 */
function databaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'].includes(code)) return true;
  return code.startsWith('08') || code === '53300' || code === '57014' || /^57P0[1-4]$/.test(code);
}
