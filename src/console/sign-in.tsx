/** @jsxImportSource hono/jsx */
import type { Hono, MiddlewareHandler } from 'hono';
import { signIn, signOut } from '../console-sessions/session.service.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Field, Notice, Page } from './layout.js';
import { endSessionCookie, sessionToken, startSessionCookie } from './security.js';
import { fill } from './strings.js';

/** Only a path inside the console may be where sign-in leads back to (no open redirect). */
const safeNext = (next: string | undefined) => (next && /^\/console(\/[\w-]|\?|$)/.test(next) ? next : `${BASE}/users`);

function SignInPage(props: { c: ConsoleContext; login?: string; error?: string; notice?: string; next?: string }) {
  const { c } = props;
  const t = c.get('t');
  return (
    <Page c={c} title={t.signInTitle} section={null}>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      <p>{t.signInIntro}</p>
      <form method="post" action={`${BASE}/login`} class="stack narrow">
        <input type="hidden" name="next" value={safeNext(props.next)} />
        <Field id="login" label={t.login}>
          {() => <input id="login" name="login" type="text" autocomplete="username" required maxlength={320} value={props.login ?? ''} />}
        </Field>
        <Field id="password" label={t.password}>
          {() => <input id="password" name="password" type="password" autocomplete="current-password" required maxlength={1024} />}
        </Field>
        <button type="submit">{t.signIn}</button>
      </form>
      <p>
        <a href={`/password/forgot?lang=${c.get('locale')}`}>{t.forgotPassword}</a>
      </p>
    </Page>
  );
}

/**
 * Sign-in goes through the public login's own checks (session.service → accounts' login) and
 * its failed-login counter (`loginFailures`, the same instance as /api/v1/public/login), so the
 * console is no second door with other limits. A failed attempt answers 401, which is what
 * the counter counts.
 */
export function registerSignIn(ui: Hono<ConsoleEnv>, deps: AppDeps, limits: { perClient: MiddlewareHandler; loginFailures: MiddlewareHandler }) {
  ui.get('/login', (c) => {
    const t = c.get('t');
    const notice = c.req.query('ended') === '1' ? t.sessionEnded : c.req.query('out') === '1' ? t.signedOut : undefined;
    return c.html(<SignInPage c={c} notice={notice} next={c.req.query('next')} />);
  });

  ui.post('/login', limits.perClient as MiddlewareHandler<ConsoleEnv>, limits.loginFailures as MiddlewareHandler<ConsoleEnv>, async (c) => {
    const t = c.get('t');
    const form = c.get('form');
    const login = (form.login ?? '').slice(0, 320);
    try {
      const { token } = await signIn(deps, login, (form.password ?? '').slice(0, 1024));
      startSessionCookie(c, deps.config, token);
      return c.redirect(safeNext(form.next), 303);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const message =
        error.type === 'NotStaff' ? t.notStaff : error.type === 'AccountInactive' ? t.inactive : error.type === 'InvalidCredentials' ? t.wrongCredentials : undefined;
      if (!message) throw error;
      // 401 for a wrong password (the failed-login counter counts exactly these), 403 otherwise.
      return c.html(<SignInPage c={c} login={login} error={message} next={form.next} />, error.type === 'InvalidCredentials' ? 401 : 403);
    }
  });

  ui.post('/logout', async (c) => {
    const token = sessionToken(c, deps.config);
    if (token) await signOut(deps, token);
    endSessionCookie(c, deps.config);
    return c.redirect(`${BASE}/login?out=1`, 303);
  });
}

/** The sign-in page with "too many attempts", for the limiters' 429. */
export function tooManyAttempts(c: ConsoleContext, seconds: number) {
  const t = c.get('t');
  c.header('retry-after', String(seconds));
  return c.html(<SignInPage c={c} error={fill(t.tooMany, { seconds })} />, 429);
}
