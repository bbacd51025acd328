/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { listUserOverview } from '../accounts/user.service.js';
import { auditActions } from '../audit/actions.js';
import { listAuditTrail } from '../audit/audit.service.js';
import type { AppDeps } from '../deps.js';
import { isUuid } from '../users/ids.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { Page } from './layout.js';
import { formatDate } from './strings.js';

type Trail = Awaited<ReturnType<typeof listAuditTrail>>;
const PAGE_SIZE = 50;

function AuditPage(props: { c: ConsoleContext; trail: Trail; user: string; actor: string; action: string | undefined; zone: string }) {
  const { c, trail } = props;
  const t = c.get('t');
  const filters = { ...(props.user ? { user: props.user } : {}), ...(props.actor ? { actor: props.actor } : {}), ...(props.action ? { action: props.action } : {}) };
  return (
    <Page c={c} title={t.auditTitle} section="audit">
      <form method="get" action={`${BASE}/audit`} class="filters" role="search">
        <div class="field">
          <label for="user">{t.user}</label>
          <input id="user" name="user" type="search" value={props.user} maxlength={200} placeholder={t.username} />
        </div>
        <div class="field">
          <label for="actor">{t.actor}</label>
          <input id="actor" name="actor" type="search" value={props.actor} maxlength={200} />
        </div>
        <div class="field">
          <label for="action">{t.action}</label>
          <select id="action" name="action">
            <option value="">{t.allActions}</option>
            {auditActions.map((a) => (
              <option value={a} selected={props.action === a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">{t.filter}</button>
      </form>
      <div class="table-wrap" tabindex={0} role="region" aria-label={t.auditTitle}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t.at}</th>
              <th scope="col">{t.action}</th>
              <th scope="col">{t.actor}</th>
              <th scope="col">{t.user}</th>
              <th scope="col">{t.details}</th>
            </tr>
          </thead>
          <tbody>
            {trail.items.map((e) => (
              <tr>
                <td>{formatDate(c.get('locale'), e.at, props.zone)}</td>
                <td>{e.action}</td>
                <td>
                  {e.actor ?? '–'}
                  {e.via ? <span class="muted"> ({e.apiKey ? e.apiKey.name : e.via})</span> : null}
                </td>
                <td>{e.userId ? <a href={`${BASE}/users/${e.userId}`}>{e.userId}</a> : '–'}</td>
                <td>
                  <code>{JSON.stringify(e.details).slice(0, 300)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label={t.auditTitle}>
        {trail.nextCursor ? <a href={`${BASE}/audit?${new URLSearchParams({ ...filters, cursor: trail.nextCursor })}`}>{t.nextPage}</a> : null}
      </nav>
    </Page>
  );
}

/** The audit trail, filtered by user (a username or an id), actor and action, naming who acted. */
export function registerAudit(ui: Hono<ConsoleEnv>, deps: AppDeps) {
  ui.get('/audit', async (c) => {
    const user = (c.req.query('user') ?? '').trim().slice(0, 200);
    const actor = (c.req.query('actor') ?? '').trim().slice(0, 200);
    const action = auditActions.find((a) => a === c.req.query('action'));
    // A username is looked up among current users; an id is taken as it is (deleted users have one too).
    let userId: string | undefined;
    if (user) {
      userId = isUuid(user) ? user : (await listUserOverview(deps, { q: user, limit: 20 })).items.find((u) => u.username.toLowerCase() === user.toLowerCase())?.id;
      userId ??= '00000000-0000-0000-0000-000000000000'; // no such user: an empty trail, not everyone's
    }
    const trail = await listAuditTrail(deps, { userId, actor: actor || undefined, action, limit: PAGE_SIZE, cursor: c.req.query('cursor') || undefined });
    return c.html(<AuditPage c={c} trail={trail} user={user} actor={actor} action={action} zone={deps.config.PLATFORM_TIMEZONE} />);
  });
}
