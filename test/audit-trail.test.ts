import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** The audit trail API (GET /api/v1/audit-events): what staff did, through which key, kept for good. */
let h: Harness;
let editor: { id: string; key: string };
beforeAll(async () => {
  h = await startHarness();
  const created = await h.api('POST', '/api/v1/api-keys', { name: 'staff console', scopes: ['invitations:write', 'users:write', 'emails:write', 'templates:write'] });
  editor = created.body;
});
afterAll(async () => h?.close());

const byEditor = (actor: string) => ({ authorization: `Bearer ${editor.key}`, 'x-actor': actor });
const invite = async (username: string, headers: Record<string, string> = { 'x-actor': 'staff:anna' }) => {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' }, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { user: { id: string }; invitation: { id: string } };
};
const trail = async (query: string) => {
  const res = await h.api('GET', `/api/v1/audit-events?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { items: any[]; nextCursor: string | null };
};

describe('the audit trail', () => {
  it('names actor and key for an invite, an edit with before and after (never the password hash), a deletion, and keeps them after it', async () => {
    const { user } = await invite('audit.anton');
    const mail = await h.mail.waitFor((m) => m.to.includes('audit.anton@example.com'), 15_000);
    const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(mail.text).token, password: 'correct horse battery staple' }, { authorization: '' });
    expect(accepted.status).toBe(200);

    const edit = await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'audit.antonia', permissions: ['reports'] }, byEditor('staff:berta'));
    expect(edit.status).toBe(200);
    expect((await h.api('DELETE', `/api/v1/users/${user.id}`, undefined, byEditor('staff:berta'))).status).toBe(204);

    const { items } = await trail(`userId=${user.id}`);
    expect(items.map((e) => e.action)).toEqual(['user.deleted', 'user.updated', 'invitation.accepted', 'user.invited']);
    const [deleted, updated, acceptance, invited] = items;
    expect(invited).toMatchObject({ actor: 'staff:anna', via: 'bootstrap', apiKey: null, userId: user.id });
    expect(acceptance).toMatchObject({ actor: 'audit.anton', via: null, apiKey: null });
    expect(updated).toMatchObject({ actor: 'staff:berta', via: 'api_key', apiKey: { id: editor.id, name: 'staff console' } });
    expect(updated.details.changes).toEqual({ username: { from: 'audit.anton', to: 'audit.antonia' }, permissions: { from: [], to: ['reports'] } });
    expect(JSON.stringify(items)).not.toMatch(/argon2|password_hash|token/i);
    expect(deleted).toMatchObject({ actor: 'staff:berta', via: 'api_key', apiKey: { id: editor.id } });
    for (const event of items) expect(Date.parse(event.at)).not.toBeNaN();

    // Deleting a user never touches the trail: no foreign key to cascade or null, even for a
    // row removed by hand with SQL.
    await h.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('emails').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('password_resets').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('invitations').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('users').where('id', '=', user.id).execute();
    });
    expect((await trail(`userId=${user.id}`)).items).toHaveLength(4);
  });

  it('records an overwrite, a revocation, a reactivation and a re-send with who did them', async () => {
    const overwritten = await invite('audit.otto');
    const res = await h.api('PATCH', `/api/v1/users/${overwritten.user.id}`, { username: 'audit.olga', email: 'audit.olga@example.com' }, byEditor('staff:carl'));
    expect(res.status).toBe(200);
    const [overwrite] = (await trail(`userId=${overwritten.user.id}&action=user.overwritten`)).items;
    expect(overwrite).toMatchObject({ actor: 'staff:carl', via: 'api_key', details: { endedInvitationId: overwritten.invitation.id } });
    expect(overwrite.details.changes).toMatchObject({
      username: { from: 'audit.otto', to: 'audit.olga' },
      email: { from: 'audit.otto@example.com', to: 'audit.olga@example.com' },
      status: { from: 'invited', to: 'inactive' },
    });

    const revoked = await invite('audit.rita');
    const email = await eventually(() => h.db.selectFrom('emails').select('id').where('user_id', '=', revoked.user.id).executeTakeFirst());
    expect((await h.api('POST', `/api/v1/emails/${email.id}/resend`, undefined, byEditor('staff:dora'))).status).toBe(202);
    expect((await h.api('DELETE', `/api/v1/invitations/${revoked.invitation.id}`, undefined, byEditor('staff:dora'))).status).toBe(204);
    expect((await h.api('POST', `/api/v1/users/${revoked.user.id}/reactivate`, undefined, byEditor('staff:dora'))).status).toBe(200);
    const events = (await trail(`userId=${revoked.user.id}`)).items;
    expect(events.map((e) => e.action)).toEqual(['user.reactivated', 'invitation.revoked', 'email.resent', 'user.invited']);
    for (const event of events.slice(0, 3)) expect(event, event.action).toMatchObject({ actor: 'staff:dora', via: 'api_key', apiKey: { id: editor.id } });
  });

  it('records template changes and resets, with version, actor and key', async () => {
    const url = '/api/v1/email-templates/password_reset?locale=en';
    const saved = await h.api('PUT', url, { subject: 'Reset', body: '<p>{{resetLink}}</p>' }, byEditor('staff:erik'));
    expect(saved.status).toBe(200);
    expect((await h.api('DELETE', url, undefined, { 'x-actor': 'staff:fritz' })).status).toBe(200);
    const changes = (await trail('action=email_template.changed')).items;
    expect(changes[0]).toMatchObject({ actor: 'staff:erik', via: 'api_key', userId: null, details: { type: 'password_reset', locale: 'en', version: saved.body.version, subject: 'Reset' } });
    const resets = (await trail('action=email_template.reset')).items;
    expect(resets[0]).toMatchObject({ actor: 'staff:fritz', via: 'bootstrap', details: { type: 'password_reset', locale: 'en', version: saved.body.version + 1, previousVersion: saved.body.version } });
    // A refused template is no change, and leaves no event.
    expect((await h.api('PUT', url, { subject: 'No link', body: '<p>none</p>' }, byEditor('staff:erik'))).status).toBe(422);
    expect((await trail('action=email_template.changed')).items).toHaveLength(1);
  });

  it('filters by actor, action, user and time, and pages newest first without skipping or repeating', async () => {
    const start = new Date().toISOString();
    const ids: string[] = [];
    for (const name of ['page.a', 'page.b', 'page.c', 'page.d', 'page.e']) ids.push((await invite(name, { 'x-actor': 'staff:pager' })).user.id);
    const all = (await trail('actor=staff:pager')).items;
    expect(all.map((e) => e.userId)).toEqual([...ids].reverse());
    expect(all.every((e) => e.action === 'user.invited' && e.actor === 'staff:pager')).toBe(true);

    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page = await trail(`actor=staff:pager&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((e) => e.id));

    expect((await trail(`from=${encodeURIComponent(start)}&action=user.invited`)).items.map((e) => e.userId)).toEqual(expect.arrayContaining(ids));
    expect((await trail(`to=${encodeURIComponent(start)}&actor=staff:pager`)).items).toEqual([]);
    expect((await trail(`userId=${ids[2]}`)).items.map((e) => e.userId)).toEqual([ids[2]]);
    expect((await trail('actor=staff:nobody')).items).toEqual([]);
  });

  it('refuses bad filters with a 422 problem naming the field', async () => {
    for (const [query, field] of [
      ['action=user.hacked', 'action'],
      ['userId=not-a-uuid', 'userId'],
      ['from=yesterday', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['actor=a%00b', 'actor'],
      ['colour=blue', 'colour'],
    ] as const) {
      const res = await h.api('GET', `/api/v1/audit-events?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.headers.get('content-type'), query).toContain('application/problem+json');
      expect(res.body.errors.map((e: { field: string }) => e.field), query).toContain(field);
    }
  });

  it('is append-only, even for SQL: updates, deletes and truncation are refused by the database', async () => {
    const before = await h.db.selectFrom('audit_events').selectAll().orderBy('id').execute();
    expect(before.length).toBeGreaterThan(0);
    await expect(h.db.updateTable('audit_events').set({ actor: 'someone else' }).execute()).rejects.toThrow(/append-only/);
    await expect(h.db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_events`.execute(h.db)).rejects.toThrow(/append-only/);
    expect(await h.db.selectFrom('audit_events').selectAll().orderBy('id').execute()).toEqual(before);
    // Nor does the API offer a way: the trail answers GET only.
    expect((await h.api('DELETE', '/api/v1/audit-events')).status).toBe(405);
  });
});
