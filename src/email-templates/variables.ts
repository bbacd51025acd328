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

/** One `{{ name }}` in a text: where it stands and the name without the spaces around it. */
export interface VariableToken {
  start: number;
  end: number;
  name: string;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * Finds each `{{ name }}`: `{{`, no brace, `}}`, spaces inside the braces allowed (a name with
 * anything else inside is reported, not ignored). A hand-written scan, not a regular expression,
 * because it must be linear on any input: the pattern it replaces (`\{\{\s*([^{}]*?)\s*\}\}`)
 * let its three quantifiers trade spaces, so `{{` and 20,000 spaces took hours (issue 15.1).
 * Each character is looked at a bounded number of times; `steps` counts the looks, so a test
 * can hold the scan to that.
 */
export function scanVariables(text: string): { tokens: VariableToken[]; steps: number } {
  const tokens: VariableToken[] = [];
  let steps = 0;
  let i = 0;
  while (i + 1 < text.length) {
    steps++;
    if (text.charCodeAt(i) !== OPEN || text.charCodeAt(i + 1) !== OPEN) {
      i++;
      continue;
    }
    // The first brace after `{{` decides: `}}` closes the variable; anything else means none starts at i.
    let k = i + 2;
    while (k < text.length && text.charCodeAt(k) !== OPEN && text.charCodeAt(k) !== CLOSE) {
      steps++;
      k++;
    }
    if (text.charCodeAt(k) === CLOSE && text.charCodeAt(k + 1) === CLOSE) {
      tokens.push({ start: i, end: k + 2, name: text.slice(i + 2, k).trim() });
      i = k + 2;
    } else {
      // No variable can start between i + 2 and k (no brace there): resume at the brace, or at
      // i + 1 when the brace came right after `{{` (`{{{a}}` holds `{{a}}`).
      i = k > i + 2 ? k : i + 1;
    }
  }
  return { tokens, steps };
}

/** The text with each variable replaced by what `replace` makes of it. */
function replaceVariables(text: string, replace: (token: VariableToken, whole: string) => string): string {
  let out = '';
  let from = 0;
  for (const token of scanVariables(text).tokens) {
    out += text.slice(from, token.start) + replace(token, text.slice(token.start, token.end));
    from = token.end;
  }
  return out + text.slice(from);
}

function namesIn(text: string): string[] {
  return scanVariables(text).tokens.map((t) => t.name);
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
  for (const tag of sanitisedBody.match(/<[^<>]*>/g) ?? []) {
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
  return replaceVariables(text, ({ name }) => shown(name));
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
  return replaceVariables(text, ({ name }, whole) => (Object.hasOwn(byName, name) ? encode(byName[name]!) : whole));
}
