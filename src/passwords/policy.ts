import { dictionary } from '@zxcvbn-ts/language-common';
import type { FieldError } from '../errors.js';

/**
 * NIST SP 800-63B / ASVS 6.2 (security.md 11): length 8–256 after NFKC, no composition
 * rules, not a commonly used password, not the username or email. Never truncated.
 */
export const PASSWORD_MIN = 8;
export const PASSWORD_RECOMMENDED = 15;
export const PASSWORD_MAX = 256;

// ~18k common passwords of 8+ characters from zxcvbn-ts' list (shorter ones fail on length).
const common = new Set(
  (dictionary['passwords-common'] as string[]).filter((p) => p.length >= PASSWORD_MIN).map((p) => p.toLowerCase()),
);

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function passwordProblems(
  password: string,
  context: { username: string; email: string },
  field = 'password',
): FieldError[] {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  const problems: FieldError[] = [];
  if (length < PASSWORD_MIN) problems.push({ field, message: `must be at least ${PASSWORD_MIN} characters (we recommend ${PASSWORD_RECOMMENDED} or more)` });
  if (length > PASSWORD_MAX) problems.push({ field, message: `must be at most ${PASSWORD_MAX} characters` });
  if (problems.length) return problems;
  const lower = normalized.toLowerCase();
  if (common.has(lower)) problems.push({ field, message: 'is a commonly used password; choose another' });
  const email = context.email.toLowerCase();
  const localPart = email.split('@')[0] ?? '';
  const username = context.username.normalize('NFKC').toLowerCase();
  if (lower === username || lower === email || (localPart.length >= 4 && lower.includes(localPart)) || (username.length >= 4 && lower.includes(username))) {
    problems.push({ field, message: 'must not contain your username or email address' });
  }
  return problems;
}
