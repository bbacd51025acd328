/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import type { AppDeps } from '../deps.js';
import type { Locale } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { getTemplate, previewTemplate, resetTemplate, saveTemplate, templateHistory } from '../email-templates/template.service.js';
import { linkVariable, templateTypes, type TemplateType } from '../email-templates/variables.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Csrf, Field, mailTypeLabel, Notice, Page } from './layout.js';
import { fill, formatDate, type Strings } from './strings.js';

type View = Awaited<ReturnType<typeof getTemplate>>;
type History = Awaited<ReturnType<typeof templateHistory>>;
type Preview = Awaited<ReturnType<typeof previewTemplate>>;

/** A template's problems in the page's language: the missing link named, the rest as the service says. */
function problemsIn(t: Strings, type: TemplateType, error: DomainError): Record<string, string> | undefined {
  if (error.type !== 'ValidationFailed' || !error.extra.errors?.length) return undefined;
  const out: Record<string, string> = {};
  for (const e of error.extra.errors) {
    const text = e.message.startsWith('must contain the personal link') ? fill(t.linkMissing, { link: `{{${linkVariable[type]}}}` }) : `${e.message}`;
    out[e.field] = out[e.field] ? `${out[e.field]} ${text}` : text;
  }
  return out;
}

function TemplatesPage(props: {
  c: ConsoleContext;
  view: View;
  history: History;
  draft?: { subject: string; body: string };
  preview?: Preview;
  errors?: Record<string, string>;
  notice?: string;
  zone: string;
}) {
  const { c, view } = props;
  const t = c.get('t');
  const draft = props.draft ?? { subject: view.subject, body: view.body };
  const errors = props.errors ?? {};
  const link = `{{${linkVariable[view.type]}}}`;
  return (
    <Page c={c} title={t.templatesTitle} section="templates">
      <form method="get" action={`${BASE}/templates`} class="filters">
        <div class="field">
          <label for="type">{t.type}</label>
          <select id="type" name="type">
            {templateTypes.map((type) => (
              <option value={type} selected={type === view.type}>
                {mailTypeLabel(t, type)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="locale">{t.locale}</label>
          <select id="locale" name="locale">
            <option value="de" selected={view.locale === 'de'}>
              Deutsch
            </option>
            <option value="en" selected={view.locale === 'en'}>
              English
            </option>
          </select>
        </div>
        <button type="submit">{t.filter}</button>
      </form>
      <h2>
        {mailTypeLabel(t, view.type)} ({view.locale})
      </h2>
      <p>{fill(t.inForce, { version: view.isDefault ? t.defaultVersion : `${t.version} ${view.version}` })}</p>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {Object.keys(errors).length ? <Notice kind="error">{t.templateInvalid}</Notice> : null}
      <div class="columns">
        <form method="post" action={`${BASE}/templates/save`} class="stack">
          <Csrf c={c} />
          <input type="hidden" name="type" value={view.type} />
          <input type="hidden" name="locale" value={view.locale} />
          <Field id="subject" label={t.subject} error={errors.subject}>
            {(described, invalid) => <input id="subject" name="subject" type="text" required maxlength={300} value={draft.subject} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined} />}
          </Field>
          <Field id="body" label={t.body} error={errors.body} hint={fill(t.variablesNote, { link })}>
            {(described, invalid) => (
              <textarea id="body" name="body" rows={14} required aria-describedby={described} aria-invalid={invalid ? 'true' : undefined}>
                {draft.body}
              </textarea>
            )}
          </Field>
          <div class="toolbar">
            <button type="submit" class="secondary" formaction={`${BASE}/templates/preview`}>
              {t.preview}
            </button>
            <button type="submit">{t.saveVersion}</button>
          </div>
        </form>
        <div>
          <h3>{t.variables}</h3>
          <ul>
            {view.variables.map((v) => (
              <li>
                <code>{v}</code>
              </li>
            ))}
          </ul>
          <form method="post" action={`${BASE}/templates/reset`} class="stack">
            <Csrf c={c} />
            <input type="hidden" name="type" value={view.type} />
            <input type="hidden" name="locale" value={view.locale} />
            <button type="submit" class="secondary" disabled={view.isDefault}>
              {t.resetDefault}
            </button>
          </form>
        </div>
      </div>
      {props.preview ? (
        <section aria-labelledby="preview-title" class="preview">
          <h2 id="preview-title">{t.previewTitle}</h2>
          <p>
            <strong>{t.subject}:</strong> {props.preview.subject}
          </p>
          <pre class="mail-body" tabindex={0} aria-label={t.preview}>
            {props.preview.text}
          </pre>
        </section>
      ) : null}
      <h2>{t.versions}</h2>
      {props.history.length ? (
        <div class="table-wrap" tabindex={0} role="region" aria-label={t.versions}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t.version}</th>
                <th scope="col">{t.at}</th>
                <th scope="col">{t.actor}</th>
                <th scope="col">{t.subject}</th>
              </tr>
            </thead>
            <tbody>
              {props.history.map((v) => (
                <tr>
                  <td>{v.version}</td>
                  <td>{formatDate(c.get('locale'), v.createdAt, props.zone)}</td>
                  <td>{v.createdBy ?? '–'}</td>
                  <td>{v.isDefault ? t.defaultVersion : v.subject}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>{t.defaultVersion}</p>
      )}
    </Page>
  );
}

const typeOf = (value: string | undefined): TemplateType => templateTypes.find((x) => x === value) ?? 'user_invitation';
const localeOf = (value: string | undefined, fallback: Locale): Locale => (value === 'de' || value === 'en' ? value : fallback);

/** Templates (R6): the same service as /api/v1/email-templates — its checks, its versions, its audit rows. */
export function registerTemplates(ui: Hono<ConsoleEnv>, deps: AppDeps) {
  const zone = deps.config.PLATFORM_TIMEZONE;
  const render = async (c: ConsoleContext, type: TemplateType, locale: Locale, extra: Omit<Parameters<typeof TemplatesPage>[0], 'c' | 'view' | 'history' | 'zone'> = {}, status: 200 | 422 = 200) => {
    const [view, history] = await Promise.all([getTemplate(deps, type, locale), templateHistory(deps, type, locale)]);
    return c.html(<TemplatesPage c={c} view={view} history={history} zone={zone} {...extra} />, status);
  };
  const target = (c: ConsoleContext) => {
    const form = c.get('form');
    return { type: typeOf(form.type), locale: localeOf(form.locale, c.get('locale')), draft: { subject: form.subject ?? '', body: form.body ?? '' } };
  };
  const refused = (c: ConsoleContext, type: TemplateType, locale: Locale, draft: { subject: string; body: string }, error: unknown) => {
    const errors = error instanceof DomainError ? problemsIn(c.get('t'), type, error) : undefined;
    if (!errors) throw error;
    return render(c, type, locale, { draft, errors }, 422);
  };

  ui.get('/templates', (c) => render(c, typeOf(c.req.query('type')), localeOf(c.req.query('locale'), c.get('locale'))));

  ui.post('/templates/preview', async (c) => {
    const { type, locale, draft } = target(c);
    try {
      const preview = await previewTemplate(deps, type, locale, draft);
      return await render(c, type, locale, { draft, preview });
    } catch (error) {
      return refused(c, type, locale, draft, error);
    }
  });

  ui.post('/templates/save', async (c) => {
    const { type, locale, draft } = target(c);
    try {
      const saved = await saveTemplate(deps, type, locale, draft, c.get('session').actor);
      return await render(c, type, locale, { notice: fill(c.get('t').templateSaved, { version: saved.version ?? '' }) });
    } catch (error) {
      return refused(c, type, locale, draft, error);
    }
  });

  ui.post('/templates/reset', async (c) => {
    const { type, locale } = target(c);
    await resetTemplate(deps, type, locale, c.get('session').actor);
    return render(c, type, locale, { notice: c.get('t').templateReset });
  });
}
