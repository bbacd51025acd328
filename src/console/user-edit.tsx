/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { deleteUser, editUser, type UserEdit } from '../accounts/user-admin.service.js';
import { getUser } from '../accounts/user.service.js';
import { listAuditTrail } from '../audit/audit.service.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { revokeInvitationById } from '../invitations/invitation.service.js';
import { listEmailLog } from '../mail/email-log.service.js';
import { nextLocalMidnight } from '../reactivation/midnight.js';
import { reactivateUser } from '../reactivation/reactivation.service.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Csrf, Field, invitationStatusLabel, mailStatusLabel, Notice, Page, reasonLabel, statusLabel } from './layout.js';
import { fill, formatDate, type Strings } from './strings.js';
import { fieldErrorsIn, fieldProblems, invalidFields } from './forms.js';

type User = Awaited<ReturnType<typeof getUser>>;
type Edited = Awaited<ReturnType<typeof editUser>>;
interface HistoryItem {
  at: string;
  what: string;
  actor: string;
  href?: string;
}

/** The service's next steps, said in German for the German page (the same facts). */
function nextStepsIn(locale: string, before: User, edited: Edited): string[] {
  if (locale !== 'de') return edited.nextSteps ?? [];
  if ('overwrite' in edited) {
    return [
      `Das war ein Überschreiben: Weder Benutzername noch E-Mail-Adresse sind die der Einladung. Die Einladung ist beendet, ihr Link und alle Links zum Zurücksetzen des Passworts funktionieren nicht mehr, der Nutzer ist inaktiv.`,
      `Der Benutzername ${before.username} und die Adresse ${before.email} sind wieder frei: Laden Sie die Person über „Einladen“ erneut ein (als neuer Nutzer).`,
    ];
  }
  if (!edited.nextSteps?.length) return [];
  const steps = [
    `Bitten Sie den Nutzer, über „Passwort vergessen“ mit ${edited.email} ein neues Passwort anzufordern: Das bestätigt die neue Adresse und macht den Nutzer aktiv${edited.status === 'invited' ? ' (und nimmt die offene Einladung an)' : ''}.`,
  ];
  if (before.invitation?.status === 'pending') {
    steps.push(
      `Der Einladungslink ging an ${before.email} und bleibt bis ${before.invitation.expiresAt} gültig; „Erneut senden“ schickt die Kopie dorthin. War diese Adresse falsch, beendet das Zurücksetzen an ${edited.email} die Einladung. Oder löschen Sie den Nutzer und laden ihn erneut ein.`,
    );
  }
  return steps;
}

function EditPage(props: {
  c: ConsoleContext;
  deps: AppDeps;
  user: User;
  history: HistoryItem[];
  notice?: string | undefined;
  nextSteps?: string[];
  errors?: Record<string, string>;
  values?: { username: string; email: string; userType: string; isStaff: boolean; permissions: string };
}) {
  const { c, user, deps } = props;
  const t = c.get('t');
  const zone = deps.config.PLATFORM_TIMEZONE;
  const date = (iso: string | null | undefined) => formatDate(c.get('locale'), iso, zone);
  const v = props.values ?? { username: user.username, email: user.email, userType: user.userType, isStaff: user.isStaff, permissions: user.permissions.join('\n') };
  const errors = props.errors ?? {};
  const pending = user.invitation?.status === 'pending';
  const reason = reasonLabel(t, user.deactivationReason);
  const ui = deps.config.TEMPORAL_UI_URL;
  const deadline = nextLocalMidnight(deps.clock?.() ?? new Date(), zone).toISOString();
  return (
    <Page c={c} title={`${t.editTitle}: ${user.username}`} section="users" script>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.nextSteps?.length ? (
        <section aria-labelledby="next-steps" class="notice warning">
          <h2 id="next-steps">{t.nextSteps}</h2>
          <ul>
            {props.nextSteps.map((s) => (
              <li>{s}</li>
            ))}
          </ul>
        </section>
      ) : null}
      {Object.keys(errors).length ? <Notice kind="error">{t.formHasErrors}</Notice> : null}
      <p>
        {t.status}: <span class={`badge ${user.status}`}>{statusLabel(t, user.status)}</span>
        {user.status === 'inactive' && reason ? <span class="muted"> ({reason})</span> : null}
      </p>
      <div class="columns">
        <div>
          <form method="post" action={`${BASE}/users/${user.id}`} class="stack">
            <Csrf c={c} />
            {pending ? <Notice kind="warning">{t.overwriteNote}</Notice> : null}
            <Field id="username" label={t.username} error={errors.username}>
              {(described, invalid) => <input id="username" name="username" type="text" autocomplete="off" required maxlength={64} value={v.username} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined} />}
            </Field>
            <Field id="email" label={t.emailAddress} error={errors.email}>
              {(described, invalid) => <input id="email" name="email" type="email" autocomplete="off" required maxlength={254} value={v.email} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined} />}
            </Field>
            <Field id="userType" label={t.userType} error={errors.userType}>
              {(described) => (
                <select id="userType" name="userType" aria-describedby={described}>
                  {deps.config.USER_TYPES.map((type) => (
                    <option value={type} selected={v.userType === type}>
                      {type}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <div class="field checkbox">
              <input id="isStaff" name="isStaff" type="checkbox" value="1" checked={v.isStaff} aria-describedby="isStaff-hint" />
              <label for="isStaff">{t.staffStatus}</label>
              <p id="isStaff-hint" class="muted">
                {t.staffStatusHint}
              </p>
            </div>
            <Field id="permissions" label={t.permissions} hint={t.permissionsHint} error={errors.permissions}>
              {(described, invalid) => (
                <textarea id="permissions" name="permissions" rows={4} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined}>
                  {v.permissions}
                </textarea>
              )}
            </Field>
            <button type="submit">{t.saveChanges}</button>
          </form>
        </div>
        <div>
          <h2>{t.invitation}</h2>
          {user.invitation ? (
            <dl class="facts">
              <dt>{t.status}</dt>
              <dd>{invitationStatusLabel(t, user.invitation.status)}</dd>
              <dt>{t.invitedAt}</dt>
              <dd>{date(user.invitation.createdAt)}</dd>
              <dt>{t.linkValidUntil}</dt>
              <dd>{pending ? date(user.invitation.expiresAt) : '–'}</dd>
            </dl>
          ) : (
            <p>–</p>
          )}
          {ui && user.invitation ? (
            <p>
              <a href={`${ui.endsWith('/') ? ui.slice(0, -1) : ui}/namespaces/${encodeURIComponent(deps.config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(user.invitation.workflowId)}`} rel="noreferrer">
                {t.workflow}
              </a>
            </p>
          ) : null}
          {pending ? (
            <form method="post" action={`${BASE}/users/${user.id}/revoke`} class="stack">
              <Csrf c={c} />
              <p class="muted">{t.revokeNote}</p>
              <button type="submit" class="secondary">
                {t.revokeInvitation}
              </button>
            </form>
          ) : null}
          {user.status === 'inactive' ? (
            <form method="post" action={`${BASE}/users/${user.id}/reactivate`} class="stack">
              <Csrf c={c} />
              <h2>{t.reactivate}</h2>
              <Notice kind="warning">{t.reactivateWarning}</Notice>
              <p>{fill(t.reactivateDeadline, { deadline: date(deadline), zone })}</p>
              <button type="submit" class="secondary">
                {t.reactivate}
              </button>
            </form>
          ) : null}
          <form method="post" action={`${BASE}/users/${user.id}/delete`} class="stack" data-confirm={fill(t.deleteConfirm, { name: user.username })}>
            <Csrf c={c} />
            <h2>{t.deleteUser}</h2>
            <div class="field checkbox">
              <input id="confirm" name="confirm" type="checkbox" value="1" required />
              <label for="confirm">{fill(t.deleteConfirm, { name: user.username })}</label>
            </div>
            <button type="submit" class="danger">
              {t.deleteUser}
            </button>
          </form>
        </div>
      </div>
      <h2>{t.history}</h2>
      {props.history.length ? (
        <div class="table-wrap" tabindex={0} role="region" aria-label={t.history}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t.at}</th>
                <th scope="col">{t.action}</th>
                <th scope="col">{t.actor}</th>
              </tr>
            </thead>
            <tbody>
              {props.history.map((item) => (
                <tr>
                  <td>{date(item.at)}</td>
                  <td>{item.href ? <a href={item.href}>{item.what}</a> : item.what}</td>
                  <td>{item.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>{t.noHistory}</p>
      )}
    </Page>
  );
}

/** Audit events and mails of one user, newest first. */
async function historyOf(deps: AppDeps, t: Strings, userId: string): Promise<HistoryItem[]> {
  const [events, mails] = await Promise.all([listAuditTrail(deps, { userId, limit: 100 }), listEmailLog(deps, { userId, limit: 100 })]);
  const items: HistoryItem[] = [
    ...events.items.map((e) => ({ at: e.at, what: e.action, actor: e.via === 'console' ? `${e.actor} (console)` : (e.actor ?? '–') })),
    ...mails.items.map((m) => ({ at: m.createdAt, what: fill(t.mailEvent, { subject: m.subject, status: mailStatusLabel(t, m.status) }), actor: 'system', href: `${BASE}/emails/${m.id}` })),
  ];
  return items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

export function registerUserEdit(ui: Hono<ConsoleEnv>, deps: AppDeps) {
  const render = async (c: ConsoleContext, id: string, extra: { notice?: string; nextSteps?: string[]; errors?: Record<string, string>; values?: Parameters<typeof EditPage>[0]['values'] } = {}, status: 200 | 422 = 200) => {
    const user = await getUser(deps, id);
    const history = await historyOf(deps, c.get('t'), user.id);
    return c.html(<EditPage c={c} deps={deps} user={user} history={history} {...extra} />, status);
  };

  ui.get('/users/:id', (c) => {
    const t = c.get('t');
    const done = c.req.query('done');
    const until = c.req.query('until');
    const notice =
      done === 'revoked' ? t.revoked : done === 'reactivated' && until && !Number.isNaN(Date.parse(until)) ? fill(t.reactivated, { deadline: formatDate(c.get('locale'), until, deps.config.PLATFORM_TIMEZONE) }) : undefined;
    return render(c, c.req.param('id'), { ...(notice ? { notice } : {}) });
  });

  ui.post('/users/:id', async (c) => {
    const t = c.get('t');
    const id = c.req.param('id');
    const form = c.get('form');
    const before = await getUser(deps, id);
    const permissions = (form.permissions ?? '').split(/\r?\n/).map((p) => p.trim()).filter(Boolean);
    // Only what changed: an unchanged username is no edit of it (and no overwrite).
    const edit: UserEdit = {};
    if ((form.username ?? '') !== before.username) edit.username = form.username ?? '';
    if ((form.email ?? '') !== before.email) edit.email = form.email ?? '';
    if ((form.userType ?? '') !== before.userType) edit.userType = form.userType ?? '';
    if ((form.isStaff === '1') !== before.isStaff) edit.isStaff = form.isStaff === '1';
    if (JSON.stringify(permissions) !== JSON.stringify(before.permissions)) edit.permissions = permissions;
    const values = { username: form.username ?? '', email: form.email ?? '', userType: form.userType ?? '', isStaff: form.isStaff === '1', permissions: form.permissions ?? '' };
    try {
      const problems = fieldProblems(edit);
      if (problems.length) throw invalidFields(problems);
      if (Object.keys(edit).length === 0) return render(c, id, { notice: t.saved });
      const edited = await editUser(deps, id, edit, c.get('session').actor);
      return render(c, id, { notice: 'overwrite' in edited ? t.overwritten : t.saved, nextSteps: nextStepsIn(c.get('locale'), before, edited) });
    } catch (error) {
      const errors = error instanceof DomainError ? fieldErrorsIn(t, error) : undefined;
      if (!errors) throw error;
      return render(c, id, { errors, values }, 422);
    }
  });

  ui.post('/users/:id/delete', async (c) => {
    const id = c.req.param('id');
    if (c.get('form').confirm !== '1') return c.redirect(`${BASE}/users/${id}`, 303);
    const user = await getUser(deps, id);
    await deleteUser(deps, id, c.get('session').actor);
    return c.redirect(`${BASE}/users?deleted=${encodeURIComponent(user.username)}`, 303);
  });

  ui.post('/users/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const user = await getUser(deps, id);
    if (user.invitation) await revokeInvitationById(deps, user.invitation.id, c.get('session').actor);
    return c.redirect(`${BASE}/users/${id}?done=revoked`, 303);
  });

  ui.post('/users/:id/reactivate', async (c) => {
    const id = c.req.param('id');
    const result = await reactivateUser(deps, id, c.get('session').actor);
    return c.redirect(`${BASE}/users/${id}?done=reactivated&until=${encodeURIComponent(result.deadline)}`, 303);
  });
}
