/** @jsxImportSource hono/jsx */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { getUser } from '../accounts/user.service.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { getEmail, listEmailLog } from '../mail/email-log.service.js';
import { resendability, resendEmail } from '../mail/resend.service.js';
import { canonicalEmail } from '../users/identity.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Csrf, mailStatusLabel, mailTypeLabel, Notice, Page } from './layout.js';
import { fill, formatDate } from './strings.js';

const TYPES = ['user_invitation', 'password_reset', 'invitation_reminder'] as const;
const STATUSES = ['queued', 'retrying', 'sent', 'failed'] as const;
const PAGE_SIZE = 50;
/** Refusals of a re-send that the info page explains itself (it asks resendability again). */
const REFUSALS = new Set(['ResendNotAllowed', 'InvitationExpired', 'InvitationNotPending', 'InvitationAlreadyAccepted', 'LinkInvalidOrExpired']);

type Log = Awaited<ReturnType<typeof listEmailLog>>;
type Mail = Awaited<ReturnType<typeof getEmail>>;

function LogsPage(props: { c: ConsoleContext; log: Log; type?: string | undefined; status?: string | undefined; to: string; zone: string }) {
  const { c, log } = props;
  const t = c.get('t');
  const filters = { ...(props.type ? { type: props.type } : {}), ...(props.status ? { status: props.status } : {}), ...(props.to ? { to: props.to } : {}) };
  return (
    <Page c={c} title={t.logsTitle} section="logs">
      <form method="get" action={`${BASE}/emails`} class="filters" role="search">
        <div class="field">
          <label for="to">{t.recipient}</label>
          <input id="to" name="to" type="search" value={props.to} maxlength={254} />
        </div>
        <div class="field">
          <label for="type">{t.type}</label>
          <select id="type" name="type">
            <option value="">{t.allTypes}</option>
            {TYPES.map((type) => (
              <option value={type} selected={props.type === type}>
                {mailTypeLabel(t, type)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="status">{t.status}</label>
          <select id="status" name="status">
            <option value="">{t.allStatuses}</option>
            {STATUSES.map((s) => (
              <option value={s} selected={props.status === s}>
                {mailStatusLabel(t, s)}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">{t.filter}</button>
      </form>
      <div class="table-wrap" tabindex={0} role="region" aria-label={t.logsTitle}>
        <table class="mails">
          <thead>
            <tr>
              <th scope="col">{t.date}</th>
              <th scope="col">{t.recipient}</th>
              <th scope="col">{t.type}</th>
              <th scope="col">{t.subject}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">
                <span class="visually-hidden">{t.info}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {log.items.map((m) => (
              <tr>
                <td>{formatDate(c.get('locale'), m.createdAt, props.zone)}</td>
                <td>{m.to}</td>
                <td>{mailTypeLabel(t, m.type)}</td>
                <td>{m.subject}</td>
                <td>
                  <span class={`badge ${m.status}`}>{mailStatusLabel(t, m.status)}</span>
                </td>
                <td>
                  <a class="button small" href={`${BASE}/emails/${m.id}`} aria-label={`${t.info}: ${m.subject} → ${m.to}`}>
                    {t.info}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {log.items.length === 0 ? <p>{t.noMails}</p> : null}
      <nav class="pager" aria-label={t.logs}>
        {log.nextCursor ? <a href={`${BASE}/emails?${new URLSearchParams({ ...filters, cursor: log.nextCursor })}`}>{t.nextPage}</a> : null}
      </nav>
    </Page>
  );
}

function InfoPage(props: {
  c: ConsoleContext;
  mail: Mail;
  allowed: { allowed: true } | { allowed: false; reason: string };
  currentAddress: string | undefined;
  resent: boolean;
  zone: string;
}) {
  const { c, mail } = props;
  const t = c.get('t');
  const date = (iso: string | null) => formatDate(c.get('locale'), iso, props.zone);
  const settled = mail.status === 'sent' || mail.status === 'failed';
  return (
    <Page c={c} title={t.infoTitle} section="logs" script>
      <p>
        <a href={`${BASE}/emails`}>{t.backToLogs}</a>
      </p>
      {props.resent ? <Notice kind="ok">{t.resent}</Notice> : null}
      <section class="window" aria-labelledby="mail-subject">
        <h2 id="mail-subject">{mail.subject}</h2>
        <dl class="facts" data-poll={settled ? undefined : `${BASE}/emails/${mail.id}/status`}>
          <dt>{t.status}</dt>
          <dd>
            <span id="mail-status" role="status" class={`badge ${mail.status}`}>
              {mailStatusLabel(t, mail.status)}
            </span>
          </dd>
          <dt>{t.recipient}</dt>
          <dd>{mail.to}</dd>
          <dt>{t.type}</dt>
          <dd>{mailTypeLabel(t, mail.type)}</dd>
          <dt>{t.date}</dt>
          <dd>{date(mail.createdAt)}</dd>
          <dt>{t.attempts}</dt>
          <dd id="mail-attempts">{mail.attempts}</dd>
          <dt>{t.serverAnswer}</dt>
          <dd id="mail-answer">{mail.smtpResponse ?? mail.error ?? '–'}</dd>
          <dt>{t.messageId}</dt>
          <dd id="mail-message-id">{mail.messageId ?? '–'}</dd>
          {mail.resentFrom ? (
            <>
              <dt>{t.copyOf}</dt>
              <dd>
                <a href={`${BASE}/emails/${mail.resentFrom}`}>{mail.resentFrom}</a>
              </dd>
            </>
          ) : null}
        </dl>
        {settled ? null : (
          <p class="muted">
            <a href={`${BASE}/emails/${mail.id}`}>{t.refresh}</a>
          </p>
        )}
        <h3>{t.body}</h3>
        <p class="muted">{t.bodyNote}</p>
        <pre class="mail-body" tabindex={0} aria-label={t.body}>
          {mail.text}
        </pre>
        <h3>{t.sendAgain}</h3>
        <p>{t.copyNote}</p>
        {props.currentAddress ? <Notice kind="warning">{fill(t.addressChanged, { now: props.currentAddress, to: mail.to })}</Notice> : null}
        {props.allowed.allowed ? null : <Notice kind="warning">{fill(t.resendNotAllowed, { reason: (t as Record<string, string>)[`dead.${props.allowed.reason}`] ?? props.allowed.reason })}</Notice>}
        <form method="post" action={`${BASE}/emails/${mail.id}/resend`}>
          <Csrf c={c} />
          {/* One form, one copy: a double click sends the same key and gets the first copy back. */}
          <input type="hidden" name="key" value={randomUUID()} />
          <button type="submit" disabled={!props.allowed.allowed}>
            {t.sendAgain}
          </button>
        </form>
      </section>
    </Page>
  );
}

export function registerEmails(ui: Hono<ConsoleEnv>, deps: AppDeps) {
  const zone = deps.config.PLATFORM_TIMEZONE;

  ui.get('/emails', async (c) => {
    const type = TYPES.find((x) => x === c.req.query('type'));
    const status = STATUSES.find((x) => x === c.req.query('status'));
    const to = (c.req.query('to') ?? '').trim().slice(0, 254);
    const log = await listEmailLog(deps, { type, status, to: to || undefined, limit: PAGE_SIZE, cursor: c.req.query('cursor') || undefined });
    return c.html(<LogsPage c={c} log={log} type={type} status={status} to={to} zone={zone} />);
  });

  const info = async (c: ConsoleContext, id: string, resent: boolean, status: 200 | 409 = 200) => {
    const mail = await getEmail(deps, id);
    const [allowed, user] = await Promise.all([resendability(deps, mail.id), getUser(deps, mail.userId).catch(() => undefined)]);
    const to = canonicalEmail(mail.to);
    const current = user && canonicalEmail(user.email);
    const moved = user && to.ok && current?.ok && to.value !== current.value ? user.email : undefined;
    return c.html(<InfoPage c={c} mail={mail} allowed={allowed} currentAddress={moved} resent={resent} zone={zone} />, status);
  };

  ui.get('/emails/:id', (c) => info(c, c.req.param('id'), c.req.query('resent') === '1'));

  // What the info page's script polls while a mail is on its way (no reload by hand).
  ui.get('/emails/:id/status', async (c) => {
    const mail = await getEmail(deps, c.req.param('id'));
    const t = c.get('t');
    return c.json({ status: mail.status, label: mailStatusLabel(t, mail.status), attempts: mail.attempts, answer: mail.smtpResponse ?? mail.error ?? '–', messageId: mail.messageId ?? '–' });
  });

  ui.post('/emails/:id/resend', async (c) => {
    const key = c.get('form').key;
    try {
      const result = await resendEmail(deps, c.req.param('id'), key && key.length <= 200 ? `console:${key}` : undefined, c.get('session').actor);
      return c.redirect(`${BASE}/emails/${result.email.id}?resent=1`, 303);
    } catch (error) {
      if (error instanceof DomainError && REFUSALS.has(error.type)) return info(c, c.req.param('id'), false, 409);
      throw error;
    }
  });
}
