import { EmailField, PermissionsField, UsernameField } from '../api/schemas.js';
import { DomainError, type FieldError } from '../errors.js';
import { fill, type Strings } from './strings.js';

/** The API's own field rules (src/api/schemas.ts), so a console edit is checked as a PATCH is. */
export function fieldProblems(fields: { username?: string | undefined; email?: string | undefined; permissions?: string[] | undefined }): FieldError[] {
  const problems: FieldError[] = [];
  const check = (field: string, result: { success: boolean; error?: { issues: Array<{ message: string }> } }) => {
    if (!result.success) problems.push({ field, message: result.error!.issues[0]?.message ?? 'is not valid' });
  };
  if (fields.username !== undefined) check('username', UsernameField.safeParse(fields.username));
  if (fields.email !== undefined) check('email', EmailField.safeParse(fields.email));
  if (fields.permissions !== undefined) check('permissions', PermissionsField.safeParse(fields.permissions));
  return problems;
}

export function invalidFields(problems: FieldError[]): DomainError {
  return new DomainError('ValidationFailed', 'The form is not valid.', { errors: problems });
}

/** The service's field errors, said in the page's language; what it does not know, as the service said it. */
export function fieldErrorsIn(t: Strings, error: DomainError): Record<string, string> | undefined {
  const fields: FieldError[] = error.extra.errors ?? [];
  if (error.type === 'UsernameTaken') return { username: fields[0]?.message.startsWith('looks') ? t.usernameLookalike : t.usernameTaken };
  if (error.type === 'EmailTaken') return { email: t.emailTaken };
  if (error.type !== 'ValidationFailed' || fields.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const f of fields) {
    if (f.field === 'email') out.email = t.emailInvalid;
    else if (f.field === 'username') out.username = fill(t.usernameInvalid, { detail: f.message });
    else if (f.field === 'userType') out.userType = t.userTypeInvalid;
    else out[f.field] = f.message;
  }
  return out;
}
