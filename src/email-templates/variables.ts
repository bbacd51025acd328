import type { FieldError } from '../errors.js';
import type { EmailType } from '../db/schema.js';

/** Every mail type has an editable template (R6); the type names the template too. */
export type TemplateType = EmailType;
export const templateTypes = ['user_invitation', 'password_reset', 'invitation_reminder'] as const satisfies readonly TemplateType[];

export function isTemplateType(value: string): value is TemplateType {
  return (templateTypes as readonly string[]).includes(value);
}

/** The personal link a template must carry, by type. */
export const linkVariable = {
  user_invitation: 'invitationLink',
  password_reset: 'resetLink',
  invitation_reminder: 'invitationLink',
} as const satisfies Record<TemplateType, string>;

const sharedVariables = ['username', 'expiresAt', 'productName'] as const;

export function variablesOf(type: TemplateType): string[] {
  return [linkVariable[type], ...sharedVariables];
}

/** What a template's variables stand for in one mail; `expiresAt` already formatted for the reader. */
export interface VariableValues {
  link: string;
  username: string;
  expiresAt: string;
  productName: string;
}

// `{{ name }}`: spaces inside the braces are allowed, anything else between them is a mistake to report.
const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

function namesIn(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]!);
}

const shown = (name: string) => `{{${name}}}`;

/**
 * The static rules (R6): the link variable in the body, never in the subject (it would reach the
 * log unredacted), and no variable the type does not know. One entry per problem, each naming it.
 */
export function templateProblems(type: TemplateType, content: { subject: string; body: string }): FieldError[] {
  const known = variablesOf(type);
  const link = linkVariable[type];
  const problems: FieldError[] = [];
  const unknown = (field: string, name: string) => {
    const otherLink = Object.entries(linkVariable).find(([, v]) => v === name && v !== link);
    const message = otherLink
      ? `${shown(name)} belongs to ${otherLink[0]} templates; a ${type} template uses ${shown(link)}`
      : `${shown(name)} is not a variable of ${type} templates (they are ${known.map(shown).join(', ')})`;
    problems.push({ field, message });
  };
  for (const name of new Set(namesIn(content.subject))) {
    if (name === link) problems.push({ field: 'subject', message: `${shown(link)} may not be in the subject: the personal link belongs in the body` });
    else if (!known.includes(name)) unknown('subject', name);
  }
  const bodyNames = new Set(namesIn(content.body));
  for (const name of bodyNames) if (!known.includes(name)) unknown('body', name);
  if (!bodyNames.has(link)) problems.push({ field: 'body', message: `must contain the personal link ${shown(link)}` });
  return problems;
}

/**
 * Where a sanitised body may carry the personal link: as text, or as a whole `href` on its
 * own. Anywhere else inside markup (`href="https://elsewhere/?t={{invitationLink}}"`, a
 * `mailto:` body) would hand the live token to another host when the invitee clicks. The
 * log's link placeholder is the service's own and may not be written into a template
 * (spelled with entities it would survive sanitising and become the live link at send time).
 */
export function linkPlacementProblems(type: TemplateType, sanitisedBody: string, placeholder: string): FieldError[] {
  const link = shown(linkVariable[type]);
  const problems: FieldError[] = [];
  for (const tag of sanitisedBody.match(/<[^>]*>/g) ?? []) {
    for (const [, name, value] of tag.matchAll(/\s([^\s=]+)="([^"]*)"/g)) {
      if (value!.includes('{{') && !(name === 'href' && value!.trim() === link)) {
        problems.push({ field: 'body', message: `${link} may stand only alone, as text or as href="${link}"; not inside ${name}="${value}"` });
      }
    }
  }
  if (sanitisedBody.includes(placeholder)) problems.push({ field: 'body', message: `${placeholder} is reserved for the service's email log` });
  return problems;
}

/** Writes `{{ name }}` as `{{name}}`, so stored templates read alike. */
export function normaliseVariables(text: string): string {
  return text.replace(VARIABLE, (_, name: string) => shown(name));
}

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Puts the values in. `encode` is applied to each value (HTML-escaping for the body), so a
 * username is never markup; names the type does not know are left as written.
 */
export function fillVariables(type: TemplateType, text: string, values: VariableValues, encode: (value: string) => string): string {
  const byName: Record<string, string> = {
    [linkVariable[type]]: values.link,
    username: values.username,
    expiresAt: values.expiresAt,
    productName: values.productName,
  };
  return text.replace(VARIABLE, (whole, name: string) => (Object.hasOwn(byName, name) ? encode(byName[name]!) : whole));
}
