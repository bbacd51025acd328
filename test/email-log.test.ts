import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';
import { skeletonOfUsernameKey } from '../src/users/identity.js';

/**
 * The email log (R13) over the HTTP API. Rows for paging and filters are written straight
 * into the table, with timestamps chosen to trip a cursor that keeps only milliseconds.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

async function userRow(name: string) {
  const id = crypto.randomUUID();
  await h.db
    .insertInto('users')
    .values({
      id,
      username: name,
      username_key: name,
      username_skeleton: skeletonOfUsernameKey(name),
      email: `${name}@example.com`,
      email_key: `${name}@example.com`,
      user_type: 'member',
      is_staff: false,
      password_hash: null,
      email_verified_at: null,
      activated_at: null,
      last_login_at: null,
      deactivated_at: null,
      deactivation_reason: null,
      deleted_at: null,
      created_by: null,
      reactivated_at: null,
      reactivation_deadline: null,
      locale: 'en',
      status: 'invited',
      updated_at: new Date(),
    })
    .execute();
  return id;
}

async function logRow(userId: string, at: string, fields: { type?: string; status?: string; to?: string } = {}) {
  const id = crypto.randomUUID();
  await h.db
    .insertInto('emails')
    .values({
      id,
      idempotency_key: `test:${id}`,
      user_id: userId,
      type: (fields.type ?? 'user_invitation') as 'user_invitation',
      locale: 'en',
      to_address: fields.to ?? 'someone@example.com',
      subject: 'hello',
      html_redacted: '<p>{{personal_link}}</p>',
      text_redacted: '{{personal_link}}',
      status: (fields.status ?? 'sent') as 'sent',
      // As text: postgres.js would send a timestamptz parameter through a JS Date (ms).
      created_at: sql`${at}::text::timestamptz` as never,
    })
    .execute();
  return id;
}

async function allPages(query: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await h.api('GET', `/api/v1/emails?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((i) => i.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
}

describe('the email log (R13)', () => {
  it('pages newest first and never skips or repeats a row, even within one millisecond', async () => {
    const userId = await userRow('pager.paula');
    // Same millisecond, different microseconds, and exact ties (broken by id).
    const stamps = ['2026-03-01T10:00:00.123001Z', '2026-03-01T10:00:00.123002Z', '2026-03-01T10:00:00.123900Z', '2026-03-01T10:00:00.500000Z'];
    const rows: { id: string; at: string }[] = [];
    for (let i = 0; i < 13; i++) {
      const at = stamps[i % stamps.length]!;
      rows.push({ id: await logRow(userId, at), at });
    }
    const expected = rows.sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1)).map((r) => r.id);
    for (const limit of [1, 2, 3, 5]) expect(await allPages(`userId=${userId}`, limit)).toEqual(expected);
  });

  it('filters by user, type, status, recipient and time range, alone and together', async () => {
    const ann = await userRow('filter.ann');
    const ben = await userRow('filter.ben');
    const a1 = await logRow(ann, '2026-04-01T08:00:00Z', { to: 'Ann@Example.com' });
    const a2 = await logRow(ann, '2026-04-02T08:00:00Z', { type: 'password_reset', status: 'failed', to: 'ann@example.com' });
    const a3 = await logRow(ann, '2026-04-03T08:00:00Z', { status: 'retrying', to: 'ann.new@example.com' });
    const b1 = await logRow(ben, '2026-04-02T09:00:00Z', { status: 'failed', to: 'ben@example.com' });
    const ids = async (query: string) => (await h.api('GET', `/api/v1/emails?${query}`)).body.items.map((i: { id: string }) => i.id);

    expect(await ids(`userId=${ann}`)).toEqual([a3, a2, a1]);
    expect(await ids(`userId=${ann}&type=password_reset`)).toEqual([a2]);
    expect(await ids(`userId=${ann}&type=user_invitation`)).toEqual([a3, a1]);
    expect(await ids('status=failed&since=2026-04-01T00:00:00Z&until=2026-04-05T00:00:00Z')).toEqual([b1, a2]);
    expect(await ids(`userId=${ann}&status=retrying`)).toEqual([a3]);
    expect(await ids('to=ANN@example.com')).toEqual([a2, a1]);
    expect(await ids('since=2026-04-02T08:00:00Z&until=2026-04-02T09:00:00Z')).toEqual([a2]);
    expect(await ids('since=2026-04-02T09:00:00%2B01:00&until=2026-04-03T08:00:00Z')).toEqual([b1, a2]);
    expect(await ids(`userId=${ben}&to=ann@example.com`)).toEqual([]);
    expect(await ids('userId=not-a-user')).toEqual([]);

    for (const bad of ['status=lost', 'type=newsletter', 'since=yesterday', 'limit=0', 'cursor=abc', 'color=red']) {
      const res = await h.api('GET', `/api/v1/emails?${bad}`);
      expect(res.status, bad).toBe(422);
    }
  });

  it('shows one mail with its bodies, the link as a placeholder, and the user view names its status', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'log.lisa', email: 'log.lisa@example.com', userType: 'member', locale: 'de' });
    const userId = res.body.user.id;
    const caught = await h.mail.waitFor((m) => m.to.includes('log.lisa@example.com'));
    const { token } = linkFrom(caught.text);
    const [summary] = (await h.api('GET', `/api/v1/emails?userId=${userId}`)).body.items;
    const mail = await eventually(async () => {
      const one = await h.api('GET', `/api/v1/emails/${summary.id}`);
      return one.body.status === 'sent' && one.body;
    });
    expect(mail).toMatchObject({
      id: summary.id,
      userId,
      invitationId: res.body.invitation.id,
      to: 'log.lisa@example.com',
      subject: caught.subject,
      type: 'user_invitation',
      locale: 'de',
      attempts: 1,
      error: null,
      resentFrom: null,
      nextAttemptAt: null,
      messageId: caught.headers['message-id'],
    });
    expect(mail.smtpResponse).toMatch(/^250 /);
    expect(Date.parse(mail.sentAt)).toBeGreaterThanOrEqual(Date.parse(mail.lastAttemptAt));
    for (const body of [mail.html, mail.text]) {
      expect(body).toContain('{{personal_link}}');
      expect(body).not.toContain(token);
    }
    expect(mail.text).toBe(caught.text.split(linkFrom(caught.text).url).join('{{personal_link}}'));
    const user = (await h.api('GET', `/api/v1/users/${userId}`)).body;
    expect(user.invitationEmail).toMatchObject({ id: summary.id, status: 'sent', attempts: 1 });

    expect((await h.api('GET', '/api/v1/emails/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/emails/nope')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/emails', undefined, { authorization: '' })).status).toBe(401);
  });
});
