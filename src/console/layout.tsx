/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { BASE, type ConsoleContext } from './context.js';
import { fill, type Strings } from './strings.js';

type Section = 'users' | 'invite' | 'logs' | 'templates' | 'audit' | null;

/** The same page with the other language: the link staff switch with (it sets the cookie). */
function otherLanguageHref(c: ConsoleContext): string {
  const url = new URL(c.req.url);
  url.searchParams.set('lang', c.get('t').otherLanguageCode);
  return `${url.pathname}${url.search}`;
}

/**
 * Every console page: a skip link, the seed's menu ("Nutzer" > "Übersicht", "Einladen";
 * "E-Mail" > "Logs"), the page, and one script from this origin that only enhances.
 */
export function Page(props: { c: ConsoleContext; title: string; section: Section; children?: Child; script?: boolean }) {
  const { c } = props;
  const t = c.get('t');
  const session = c.get('session');
  const current = (s: Section) => (props.section === s ? { 'aria-current': 'page' as const } : {});
  return (
    <html lang={c.get('locale')}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} – ${t.consoleName}`}</title>
        <link rel="stylesheet" href={`${BASE}/assets/console.css`} />
        {props.script ? <script type="module" src={`${BASE}/assets/console.js`}></script> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          {t.skip}
        </a>
        <header class="top">
          <span class="brand">{t.consoleName}</span>
          {session ? (
            <nav aria-label={t.nav}>
              <ul class="menu">
                <li>
                  <span class="menu-group">{t.users}</span>
                  <ul>
                    <li>
                      <a href={`${BASE}/users`} {...current('users')}>
                        {t.overview}
                      </a>
                    </li>
                    <li>
                      <a href={`${BASE}/users/invite`} {...current('invite')}>
                        {t.invite}
                      </a>
                    </li>
                  </ul>
                </li>
                <li>
                  <span class="menu-group">{t.email}</span>
                  <ul>
                    <li>
                      <a href={`${BASE}/emails`} {...current('logs')}>
                        {t.logs}
                      </a>
                    </li>
                    <li>
                      <a href={`${BASE}/templates`} {...current('templates')}>
                        {t.templates}
                      </a>
                    </li>
                  </ul>
                </li>
                <li>
                  <a href={`${BASE}/audit`} {...current('audit')}>
                    {t.audit}
                  </a>
                </li>
              </ul>
            </nav>
          ) : null}
          <div class="account">
            <a href={otherLanguageHref(c)} lang={t.otherLanguageCode} hreflang={t.otherLanguageCode}>
              {t.otherLanguage}
            </a>
            {session ? (
              <form method="post" action={`${BASE}/logout`} class="inline">
                <Csrf c={c} />
                <span class="muted">{fill(t.signedInAs, { name: session.staff.username })}</span>{' '}
                <button type="submit" class="link">
                  {t.signOut}
                </button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The session's token in every state-changing form (checked by requireSession). */
export function Csrf(props: { c: ConsoleContext }) {
  const session = props.c.get('session');
  return session ? <input type="hidden" name="_csrf" value={session.csrfToken} /> : null;
}

export function Notice(props: { kind: 'ok' | 'error' | 'warning'; children?: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'ok' ? 'status' : 'alert'}>
      {props.children}
    </div>
  );
}

/** A labelled input with its error right below it, tied together for screen readers. */
export function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  children: (describedBy: string | undefined, invalid: boolean) => Child;
}) {
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${props.error ? ' has-error' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <p id={`${props.id}-hint`} class="muted">
          {props.hint}
        </p>
      ) : null}
      {props.children(described, Boolean(props.error))}
      {props.error ? (
        <p id={`${props.id}-error`} class="field-error">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export const statusLabel = (t: Strings, status: string) => (t as Record<string, string>)[`status.${status}`] ?? status;
export const invitationStatusLabel = (t: Strings, status: string) => (t as Record<string, string>)[`invitation.${status}`] ?? status;
export const reasonLabel = (t: Strings, reason: string | null) => (reason ? ((t as Record<string, string>)[`reason.${reason}`] ?? reason) : null);
export const mailTypeLabel = (t: Strings, type: string) => (t as Record<string, string>)[`mail.${type}`] ?? type;
export const mailStatusLabel = (t: Strings, status: string) => (t as Record<string, string>)[`mailStatus.${status}`] ?? status;
