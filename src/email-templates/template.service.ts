import type { Actor } from '../audit/actor.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { AppDeps } from '../deps.js';
import type { EmailTemplateVersionRow, Locale } from '../db/schema.js';
import { DomainError, type FieldError } from '../errors.js';
import { builtInTemplate } from './defaults.js';
import { renderTemplate, type TemplateContent } from './render.js';
import { foreignLinkProblems } from './link-targets.js';
import { sanitizeBody } from './sanitize.js';
import { appendTemplateVersion, currentTemplateVersion, listTemplateVersions } from './template.repository.js';
import { isTemplateType, linkPlacementProblems, linkVariable, normaliseVariables, templateProblems, templateTypes, variablesOf, type TemplateType } from './variables.js';
import { LINK_PLACEHOLDER } from '../mail/email-log.repository.js';

export interface TemplateView {
  type: TemplateType;
  locale: Locale;
  subject: string;
  body: string;
  /** True while the built-in mail is in force (never customised, or reset). */
  isDefault: boolean;
  /** The newest version; null when the template was never changed. */
  version: number | null;
  updatedAt: string | null;
  updatedBy: string | null;
  variables: string[];
}

export function templateTypeOf(value: string): TemplateType {
  if (!isTemplateType(value)) throw new DomainError('NotFound', `There is no "${value}" template; the types are ${templateTypes.join(', ')}.`);
  return value;
}

function viewOf(type: TemplateType, locale: Locale, row: EmailTemplateVersionRow | undefined): TemplateView {
  const custom = row?.subject != null && row.body != null ? { subject: row.subject, body: row.body } : null;
  return {
    type,
    locale,
    ...(custom ?? builtInTemplate(type, locale)),
    isDefault: custom === null,
    version: row?.version ?? null,
    updatedAt: row ? new Date(row.created_at).toISOString() : null,
    updatedBy: row?.created_by ?? null,
    variables: variablesOf(type).map((name) => `{{${name}}}`),
  };
}

export async function getTemplate(deps: AppDeps, type: TemplateType, locale: Locale): Promise<TemplateView> {
  return viewOf(type, locale, await currentTemplateVersion(deps.db, type, locale));
}

/** Every change is a new version with who and when (R6); nothing is overwritten. */
export async function saveTemplate(deps: AppDeps, type: TemplateType, locale: Locale, draft: TemplateContent, actor: Actor): Promise<TemplateView & { sanitized: boolean }> {
  const content = await checkedContent(deps, type, locale, draft);
  const row = await deps.db.transaction().execute(async (tx) => {
    const saved = await appendTemplateVersion(tx, { type, locale, ...content, createdBy: actor.name });
    await recordAudit(tx, { actor, action: 'email_template.changed', userId: null, details: { type, locale, version: saved.version, subject: saved.subject } });
    return saved;
  });
  return { ...viewOf(type, locale, row), sanitized: content.body !== normaliseVariables(draft.body.trim()) };
}

/** Back to the built-in mail, as a new version; nothing to record when it is in force already. */
export async function resetTemplate(deps: AppDeps, type: TemplateType, locale: Locale, actor: Actor): Promise<TemplateView> {
  return deps.db.transaction().execute(async (tx) => {
    const current = await currentTemplateVersion(tx, type, locale);
    if (!current || current.subject === null) return viewOf(type, locale, current);
    const saved = await appendTemplateVersion(tx, { type, locale, subject: null, body: null, createdBy: actor.name });
    await recordAudit(tx, { actor, action: 'email_template.reset', userId: null, details: { type, locale, version: saved.version, previousVersion: current.version } });
    return viewOf(type, locale, saved);
  });
}

export async function templateHistory(deps: AppDeps, type: TemplateType, locale: Locale) {
  const rows = await listTemplateVersions(deps.db, type, locale, 200);
  return rows.map((row) => ({
    version: row.version,
    isDefault: row.subject === null,
    subject: row.subject,
    body: row.body,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
  }));
}

/** Renders the template in force, or a draft before it is saved, with sample data. */
export async function previewTemplate(deps: AppDeps, type: TemplateType, locale: Locale, draft: TemplateContent | undefined) {
  if (draft) {
    const content = await checkedContent(deps, type, locale, draft);
    return { ...(await renderTemplate(type, content, sampleValues(deps, type, locale))), draft: true, version: null, isDefault: false };
  }
  const current = await currentTemplateVersion(deps.db, type, locale);
  const view = viewOf(type, locale, current);
  const rendered = await renderTemplate(type, view.isDefault ? null : view, sampleValues(deps, type, locale));
  return { ...rendered, draft: false, version: view.version, isDefault: view.isDefault };
}

/**
 * The rules (variables, where the personal link stands, where links lead), then the proof: rendered with a sample link, the link must still be in the html
 * and in the text (sanitising removes a link hidden in markup that is not allowed).
 */
async function checkedContent(deps: AppDeps, type: TemplateType, locale: Locale, draft: TemplateContent): Promise<TemplateContent> {
  const content = { subject: normaliseVariables(draft.subject.trim()), body: normaliseVariables(draft.body.trim()) };
  const problems = templateProblems(type, content);
  const link = `{{${linkVariable[type]}}}`;
  const mustStay = { field: 'body', message: `${link} must stay in the mail: put it in text or in <a href="${link}">, not inside markup that is removed` };
  if (problems.length === 0) {
    content.body = sanitizeBody(content.body);
    // Entities decode in sanitising, so the rules run again on what will be stored; a link
    // that sanitising removed is reported as such.
    const afterSanitising = templateProblems(type, content).map((p) => (p.field === 'body' && p.message.startsWith('must contain the personal link') ? mustStay : p));
    problems.push(
      ...afterSanitising,
      ...linkPlacementProblems(type, content.body, LINK_PLACEHOLDER),
      // Judged on what will be stored: sanitising decoded whatever entities spelled the links.
      ...foreignLinkProblems(type, content, { origin: new URL(deps.config.PUBLIC_BASE_URL).origin, hosts: deps.config.TEMPLATE_LINK_HOSTS }),
    );
  }
  if (problems.length === 0) {
    const sample = sampleValues(deps, type, locale);
    const rendered = await renderTemplate(type, content, sample).catch((error: unknown) => {
      // Markup nested thousands deep overflows the text converter's stack: the author's problem.
      if (error instanceof RangeError) throw invalid([{ field: 'body', message: 'is nested too deeply to render' }]);
      throw error;
    });
    const inHtml = rendered.html.includes(sample.link) || rendered.html.includes(sample.link.replace(/&/g, '&amp;'));
    if (!inHtml || !rendered.text.includes(sample.link)) {
      problems.push(mustStay);
    }
  }
  if (problems.length) throw invalid(problems);
  return content;
}

function invalid(errors: FieldError[]): DomainError {
  return new DomainError('ValidationFailed', `The template is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`, { errors });
}

function sampleValues(deps: AppDeps, type: TemplateType, locale: Locale) {
  const { config } = deps;
  const path = type === 'password_reset' ? '/password/reset' : '/invitations/accept';
  const lifetime = type === 'password_reset' ? config.PASSWORD_RESET_TTL : type === 'invitation_reminder' ? config.INVITATION_REMINDER ?? config.INVITATION_TTL : config.INVITATION_TTL;
  return {
    locale,
    username: 'erika.mustermann',
    link: `${config.PUBLIC_BASE_URL}${path}?lang=${locale}#token=sample-token-for-preview`,
    expiresAt: new Date(Date.now() + lifetime).toISOString(),
    timeZone: config.PLATFORM_TIMEZONE,
    productName: config.PRODUCT_NAME,
  };
}
