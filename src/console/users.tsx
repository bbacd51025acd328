/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { getUser, listUserOverviewWithInvitations } from '../accounts/user.service.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { inviteUser } from '../invitations/invitation.service.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Csrf, Field, Notice, Page, reasonLabel, statusLabel } from './layout.js';
import { fieldErrorsIn, fieldProblems, invalidFields } from './forms.js';
import { fill, formatDate, type Strings } from './strings.js';

const STATUSES = ['active', 'invited', 'inactive'] as const;
type Status = (typeof STATUSES)[number];
const PAGE_SIZE = 50;

type Overview = Awaited<ReturnType<typeof listUserOverviewWithInvitations>>;

function OverviewPage(props: { c: ConsoleContext; page: Overview; q: string; status: Status | undefined; invited?: string | undefined; deleted?: string | undefined; zone: string }) {
  const { c, page } = props;
  const t = c.get('t');
  const locale = c.get('locale');
  const date = (iso: string | null | undefined) => formatDate(locale, iso, props.zone);
  const next = new URLSearchParams({ ...(props.q ? { q: props.q } : {}), ...(props.status ? { status: props.status } : {}), ...(page.nextCursor ? { cursor: page.nextCursor } : {}) });
  return (
    <Page c={c} title={t.overviewTitle} section="users">
      {props.invited ? <Notice kind="ok">{fill(t.invited, { name: props.invited })}</Notice> : null}
      {props.deleted ? <Notice kind="ok">{fill(t.deleted, { name: props.deleted })}</Notice> : null}
      <div class="toolbar">
        <form method="get" action={`${BASE}/users`} class="filters" role="search">
          <div class="field">
            <label for="q">{t.search}</label>
            <input id="q" name="q" type="search" value={props.q} placeholder={t.searchHint} maxlength={200} />
          </div>
          <div class="field">
            <label for="status">{t.status}</label>
            <select id="status" name="status">
              <option value="">{t.allStatuses}</option>
              {STATUSES.map((s) => (
                <option value={s} selected={props.status === s}>
                  {statusLabel(t, s)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">{t.filter}</button>
        </form>
        <a class="button" href={`${BASE}/users/invite`}>
          {t.invite}
        </a>
      </div>
      <div class="table-wrap" tabindex={0} role="region" aria-label={t.overviewTitle}>
        <table class="users">
          <thead>
            <tr>
              <th scope="col">{t.username}</th>
              <th scope="col">{t.emailAddress}</th>
              <th scope="col">{t.userType}</th>
              <th scope="col">{t.staffStatus}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.invitedAt}</th>
              <th scope="col">{t.linkValidUntil}</th>
              <th scope="col">{t.lastLogin}</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((u) => {
              const reason = reasonLabel(t, u.deactivationReason);
              const pending = u.invitation?.status === 'pending';
              return (
                <tr>
                  <td>
                    <a href={`${BASE}/users/${u.id}`}>{u.username}</a>
                  </td>
                  <td>{u.email}</td>
                  <td>{u.userType}</td>
                  <td>{u.isStaff ? t.yes : t.no}</td>
                  <td>
                    <span class={`badge ${u.status}`}>{statusLabel(t, u.status)}</span>
                    {u.status === 'inactive' && reason ? <span class="muted"> ({reason})</span> : null}
                  </td>
                  <td>{date(u.invitation?.createdAt)}</td>
                  <td>{pending ? date(u.invitation?.expiresAt) : '–'}</td>
                  <td>{date(u.lastLoginAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {page.items.length === 0 ? <p>{t.noUsers}</p> : null}
      <nav class="pager" aria-label={t.overview}>
        {c.req.query('cursor') ? <a href={`${BASE}/users?${new URLSearchParams({ ...(props.q ? { q: props.q } : {}), ...(props.status ? { status: props.status } : {}) })}`}>{t.firstPage}</a> : null}
        {page.nextCursor ? <a href={`${BASE}/users?${next}`}>{t.nextPage}</a> : null}
      </nav>
    </Page>
  );
}

export interface InviteValues {
  username: string;
  email: string;
  userType: string;
  isStaff: boolean;
  locale: 'de' | 'en';
}

function InvitePage(props: { c: ConsoleContext; userTypes: readonly string[]; ttl: string; values?: InviteValues; errors?: Record<string, string> }) {
  const { c } = props;
  const t = c.get('t');
  const v = props.values ?? { username: '', email: '', userType: props.userTypes[0] ?? '', isStaff: false, locale: c.get('locale') };
  const errors = props.errors ?? {};
  return (
    <Page c={c} title={t.inviteTitle} section="invite">
      {Object.keys(errors).length ? <Notice kind="error">{t.formHasErrors}</Notice> : null}
      <p>{fill(t.inviteIntro, { days: props.ttl })}</p>
      <form method="post" action={`${BASE}/users/invite`} class="stack narrow" novalidate>
        <Csrf c={c} />
        <Field id="username" label={t.username} error={errors.username} hint={t.usernameNote}>
          {(described, invalid) => (
            <input id="username" name="username" type="text" autocomplete="off" required maxlength={64} value={v.username} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined} />
          )}
        </Field>
        <Field id="email" label={t.emailAddress} error={errors.email}>
          {(described, invalid) => (
            <input id="email" name="email" type="email" autocomplete="off" required maxlength={254} value={v.email} aria-describedby={described} aria-invalid={invalid ? 'true' : undefined} />
          )}
        </Field>
        <Field id="userType" label={t.userType} error={errors.userType}>
          {(described) => (
            <select id="userType" name="userType" aria-describedby={described}>
              {props.userTypes.map((type) => (
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
        <Field id="locale" label={t.language}>
          {() => (
            <select id="locale" name="locale">
              <option value="de" selected={v.locale === 'de'}>
                Deutsch
              </option>
              <option value="en" selected={v.locale === 'en'}>
                English
              </option>
            </select>
          )}
        </Field>
        <button type="submit">{t.sendInvitation}</button>
      </form>
    </Page>
  );
}

export function registerUsers(ui: Hono<ConsoleEnv>, deps: AppDeps) {
  const ttl = (t: Strings) => {
    const days = deps.config.INVITATION_TTL / 86_400_000;
    return fill(t.days, { n: Number(days.toFixed(3)) });
  };

  ui.get('/users', async (c) => {
    const q = (c.req.query('q') ?? '').trim().slice(0, 200);
    const rawStatus = c.req.query('status');
    const status = STATUSES.find((s) => s === rawStatus);
    const page = await listUserOverviewWithInvitations(deps, { q: q || undefined, status, limit: PAGE_SIZE, cursor: c.req.query('cursor') || undefined });
    const named = async (id: string | undefined) => (id ? (await getUser(deps, id).catch(() => undefined))?.username : undefined);
    const invited = await named(c.req.query('invited'));
    return c.html(<OverviewPage c={c} page={page} q={q} status={status} invited={invited} deleted={c.req.query('deleted')?.slice(0, 64)} zone={deps.config.PLATFORM_TIMEZONE} />);
  });

  ui.get('/users/invite', (c) => c.html(<InvitePage c={c} userTypes={deps.config.USER_TYPES} ttl={ttl(c.get('t'))} />));

  ui.post('/users/invite', async (c) => {
    const form = c.get('form');
    const values: InviteValues = {
      username: form.username ?? '',
      email: form.email ?? '',
      userType: form.userType ?? '',
      isStaff: form.isStaff === '1',
      locale: form.locale === 'en' ? 'en' : 'de',
    };
    try {
      // The API's field rules first (its schemas), then the service's own and its conflicts.
      const problems = fieldProblems({ username: values.username, email: values.email });
      if (problems.length) throw invalidFields(problems);
      const result = await inviteUser(deps, values, c.get('session').actor);
      return c.redirect(`${BASE}/users?invited=${result.user.id}`, 303);
    } catch (error) {
      const errors = error instanceof DomainError ? fieldErrorsIn(c.get('t'), error) : undefined;
      if (!errors) throw error;
      return c.html(<InvitePage c={c} userTypes={deps.config.USER_TYPES} ttl={ttl(c.get('t'))} values={values} errors={errors} />, 422);
    }
  });
}
