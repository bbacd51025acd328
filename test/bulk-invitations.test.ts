import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { connectTemporal } from '../src/runtime.js';
import { ADMIN_KEY, eventually, startHarness, type Harness } from './support/harness.js';

/**
 * Bulk invitations (POST /api/v1/invitations/bulk): a 1,000-row CSV with bad rows of every
 * kind gives exactly the right result for every row, the rest each become a normal
 * invitation with its own workflow and one mail; the JSON variant; what is refused.
 * A high rate keeps the 1,000 rows quick; throttling is tested in bulk-throttle.test.ts.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { BULK_INVITES_PER_SECOND: '1000' } });
  // Already in the database: a name, an address, and a name a row will imitate.
  for (const [username, email] of [['taken.name', 'someone@example.com'], ['alice', 'alice@example.com'], ['owner', 'taken@example.com']]) {
    expect((await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member' })).status).toBe(201);
  }
});
afterAll(async () => h?.close());

const csv = (text: string, headers: Record<string, string> = {}) => h.api('POST', '/api/v1/invitations/bulk', text, { 'content-type': 'text/csv', ...headers });
const batch = (id: string) => h.api('GET', `/api/v1/invitations/bulk/${id}`);
const finished = (id: string, timeoutMs = 120_000) =>
  eventually(async () => {
    const res = await batch(id);
    return res.body.status === 'completed' && res.body;
  }, timeoutMs, `batch ${id} to complete`);

type Expected = { status: 'created' } | { status: 'failed'; type: string; fields: string[]; duplicateOf?: number };

describe('a 1,000-row CSV with bad rows among good ones', () => {
  it('reports each bad row with its own problem, invites every other row once, and checks every row', { timeout: 600_000 }, async () => {
    const expected = new Map<number, Expected>();
    const lines: string[] = [];
    for (let row = 1; row <= 1000; row++) {
      let fields = [`bulk${row}`, `bulk${row}@example.com`, 'member', '', '', ''];
      let want: Expected = { status: 'created' };
      const fail = (type: string, fieldNames: string[], duplicateOf?: number) => (want = { status: 'failed', type, fields: fieldNames, ...(duplicateOf ? { duplicateOf } : {}) });
      switch (row) {
        case 3: // quoting, a permission list, staff, another locale
          fields = ['"bulk3"', '"bulk3@example.com"', 'member', 'yes', '"users:read users:write"', 'en'];
          break;
        case 10:
          fields[1] = 'not-an-email';
          fail('validation-failed', ['email']);
          break;
        case 20:
          fields[2] = 'wizard';
          fail('validation-failed', ['userType']);
          break;
        case 30: // the same name as row 5, spelt differently
          fields[0] = 'BULK5';
          fail('duplicate-in-batch', ['username'], 5);
          break;
        case 40: // the same address as row 6, canonically
          fields[1] = ' Bulk6@EXAMPLE.com';
          fail('duplicate-in-batch', ['email'], 6);
          break;
        case 45: // looks like row 7's name (1 for l)
          fields[0] = 'bu1k7';
          fail('duplicate-in-batch', ['username'], 7);
          break;
        case 50:
          fields[0] = 'Taken.Name';
          fail('username-taken', ['username']);
          break;
        case 60: // Cyrillic "а": looks like "alice", who exists
          fields[0] = '\u0430lice';
          fail('username-taken', ['username']);
          break;
        case 70:
          fields[1] = 'TAKEN@example.com';
          fail('email-taken', ['email']);
          break;
        case 80:
          fields.push('one too many');
          fail('validation-failed', ['(row)']);
          break;
        case 90:
          fields[3] = 'maybe';
          fail('validation-failed', ['isStaff']);
          break;
        case 95:
          fields[0] = 'with space';
          fail('validation-failed', ['username']);
          break;
      }
      expected.set(row, want);
      lines.push(fields.join(';'));
    }
    // Semicolons, a BOM and CRLF line ends, as a German spreadsheet writes them; a blank line.
    const file = `\uFEFFusername;email;userType;isStaff;permissions;locale\r\n${lines.slice(0, 500).join('\r\n')}\r\n\r\n${lines.slice(500).join('\r\n')}\r\n`;

    const submitted = await csv(file, { 'x-actor': 'staff:anna' });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    expect(submitted.headers.get('location')).toBe(`/api/v1/invitations/bulk/${submitted.body.id}`);
    // Every problem that needs no invitation attempt is known at once.
    const failedAtOnce = submitted.body.rows.filter((r: any) => r.status === 'failed').map((r: any) => r.row);
    expect(failedAtOnce).toEqual([...expected].filter(([, e]) => e.status === 'failed').map(([row]) => row));
    expect(submitted.body.counts).toMatchObject({ total: 1000, failed: 11 });

    // Bound by the machine, not the rate: each row is a full invitation with its own workflow and mail.
    const done = await finished(submitted.body.id, 480_000);
    expect(done.counts).toEqual({ total: 1000, pending: 0, created: 989, failed: 11 });
    expect(done.rows).toHaveLength(1000);

    const users = await h.db.selectFrom('users').select(['id', 'username', 'email', 'is_staff', 'permissions', 'locale', 'created_by']).where('username', 'like', 'bulk%').execute();
    const byId = new Map(users.map((u) => [u.id, u]));
    const invitations = new Map((await h.db.selectFrom('invitations').select(['id', 'user_id']).execute()).map((i) => [i.id, i.user_id]));
    for (const result of done.rows) {
      const want = expected.get(result.row)!;
      const label = `row ${result.row}: ${JSON.stringify(result)}`;
      // The header is line 1; rows after the blank line sit one line further down.
      expect(result.line, label).toBe(result.row + (result.row > 500 ? 2 : 1));
      expect(result.status, label).toBe(want.status);
      if (want.status === 'created') {
        const user = byId.get(result.userId);
        expect(user, label).toMatchObject({ username: `bulk${result.row}`, email: `bulk${result.row}@example.com`, created_by: 'staff:anna' });
        expect(invitations.get(result.invitationId), label).toBe(result.userId);
        expect(result.problem, label).toBeNull();
      } else {
        expect(result.userId, label).toBeNull();
        expect(result.problem, label).toMatchObject({ type: `https://invitations.dev/problems/${want.type}`, detail: expect.any(String), title: expect.any(String) });
        expect(result.problem.errors.map((e: any) => e.field), label).toEqual(want.fields);
        if (want.duplicateOf) expect(result.problem.duplicateOf, label).toBe(want.duplicateOf);
      }
    }
    expect(byId.get(done.rows[2].userId)).toMatchObject({ is_staff: true, permissions: ['users:read', 'users:write'], locale: 'en' });
    expect(done.rows[59].problem.detail).toMatch(/looks the same/);
    expect(users).toHaveLength(989); // nothing for the failed rows, nothing twice

    // Each created row is a normal invitation: one mail each, sent by its own workflow.
    await eventually(
      async () => {
        const mails = await h.db.selectFrom('emails').select(['user_id', 'status']).where('type', '=', 'user_invitation').where('user_id', 'in', [...byId.keys()]).execute();
        return mails.length === 989 && mails.every((m) => m.status === 'sent') && mails;
      },
      300_000,
      '989 invitation mails to be sent',
    ).then((mails) => expect(new Set(mails.map((m) => m.user_id)).size).toBe(989));
    const workflow = await h.client.workflow.getHandle(`invitation-${done.rows[0].userId}`).describe();
    expect(workflow.status.name).toBe('RUNNING');
  });
});

describe('the JSON variant', () => {
  it('takes {rows: [...]} with the fields of a single invitation and numbers rows from 1', async () => {
    const res = await h.api('POST', '/api/v1/invitations/bulk', {
      rows: [
        { username: 'json.one', email: 'json.one@example.com', userType: 'member', locale: 'en', isStaff: false, permissions: ['a'] },
        { username: 'json.two', email: 'json.one@example.com', userType: 'member' },
        { username: 'x', email: 'json.three@example.com', userType: 'member' },
      ],
    });
    expect(res.status).toBe(202);
    const done = await finished(res.body.id, 30_000);
    expect(done.rows.map((r: any) => [r.row, r.line, r.status, r.problem?.type.split('/').at(-1) ?? null])).toEqual([
      [1, null, 'created', null],
      [2, null, 'failed', 'duplicate-in-batch'],
      [3, null, 'failed', 'validation-failed'],
    ]);
  });

  it('refuses a body of the wrong shape as a whole: unknown fields, wrong types, no rows', async () => {
    for (const body of [{ rows: [{ username: 'a1', email: 'a1@example.com', userType: 'member', status: 'active' }] }, { rows: [{ username: 5, email: 'x', userType: 'member' }] }, { rows: [] }, {}]) {
      const res = await h.api('POST', '/api/v1/invitations/bulk', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect(await h.db.selectFrom('bulk_batches').select('id').where('created_by', '=', 'nobody').execute()).toEqual([]);
  });
});

describe('what is refused', () => {
  const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ username: `many${i}`, email: `many${i}@example.com`, userType: 'member' }));
  const batches = async () => Number((await h.db.selectFrom('bulk_batches').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  it('more than 1,000 rows, as JSON or CSV, is a 422 that says so, and stores nothing', async () => {
    const before = await batches();
    const json = await h.api('POST', '/api/v1/invitations/bulk', { rows: rowsOf(1001) });
    expect(json.status).toBe(422);
    expect(json.body.errors).toEqual([{ field: 'rows', message: expect.stringContaining('at most 1000') }]);
    const file = `username,email,userType\n${rowsOf(1001).map((r) => `${r.username},${r.email},member`).join('\n')}\n`;
    const res = await csv(file);
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/1001 rows.*at most 1000/);
    expect(await batches()).toBe(before);
  });

  it('a body that is neither JSON nor CSV is a 415; a body over 2 MiB a 413', async () => {
    const xml = await h.api('POST', '/api/v1/invitations/bulk', '<rows/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect(xml.body.detail).toMatch(/text\/csv/);
    const form = await h.api('POST', '/api/v1/invitations/bulk', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const huge = await csv(`username,email,userType\n${'x'.repeat(2 * 1024 * 1024)}\n`);
    expect(huge.status).toBe(413);
    // The other routes still take JSON only.
    expect((await h.api('POST', '/api/v1/invitations', 'username,email\n', { 'content-type': 'text/csv' })).status).toBe(415);
  });

  it('a CSV that cannot be read is a 422 naming the problem: header, quoting, no rows', async () => {
    const cases: Array<[string, RegExp]> = [
      ['username,email\nbob,bob@example.com\n', /lacks the column userType/],
      ['username,email,userType,color\nbob,bob@example.com,member,red\n', /unknown column "color"/],
      ['username,email,userType\n"bob,bob@example.com,member\n', /cannot be read.*line 2/i],
      ['username,email,userType\n', /no rows/],
      ['', /empty/],
    ];
    for (const [text, detail] of cases) {
      const res = await csv(text);
      expect(res.status, text).toBe(422);
      expect(res.body.detail, text).toMatch(detail);
    }
  });

  it('a CSV is read in the charset it declares: Latin-1 and Windows-1252 as such, bytes not UTF-8 without one a 422 naming the line, an unknown charset a 415 (issue 15.7)', async () => {
    const file = 'username,email,userType\nlatin.jürgen,jurgen@example.com,member\nlatin.zoë,zoe@example.com,member\n';
    const post = (bytes: Uint8Array, contentType: string) =>
      h.app.request('/api/v1/invitations/bulk?dryRun=true', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': contentType }, body: bytes.slice().buffer });
    const latin1 = new Uint8Array(Buffer.from(file, 'latin1'));
    for (const type of ['text/csv; charset=iso-8859-1', 'text/csv;charset="ISO-8859-1"', 'text/csv; charset=latin1', 'text/csv; charset=windows-1252', 'text/csv; charset=utf-8']) {
      const res = await post(type.endsWith('utf-8') ? new TextEncoder().encode(file) : latin1, type);
      expect(res.status, type).toBe(200);
      const body = (await res.json()) as { rows: Array<{ username: string; status: string }> };
      expect(body.rows.map((r) => [r.username, r.status]), type).toEqual([
        ['latin.jürgen', 'valid'],
        ['latin.zoë', 'valid'],
      ]);
    }
    const undeclared = await post(latin1, 'text/csv');
    expect(undeclared.status).toBe(422);
    expect(undeclared.headers.get('content-type')).toContain('application/problem+json');
    expect(((await undeclared.json()) as { detail: string }).detail).toMatch(/not UTF-8 \(line 2\).*charset=windows-1252/);
    for (const type of ['text/csv; charset=shift_jis', 'text/csv; charset=utf-16']) {
      const unsupported = await post(latin1, type);
      expect(unsupported.status, type).toBe(415);
      expect(((await unsupported.json()) as { detail: string }).detail, type).toMatch(/declares charset=.*one of utf-8, .*iso-8859-1, .*windows-1252/);
    }
  });

  it('no body at all is a 422; an unknown batch a 404', async () => {
    expect((await h.api('POST', '/api/v1/invitations/bulk')).status).toBe(422);
    expect((await batch('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await batch('not-a-uuid')).status).toBe(404);
  });
});

describe('when Temporal is unreachable', () => {
  it('answers 503 and keeps no batch without a key; with a key the batch waits for the retry, which starts it', async () => {
    const offline = createApp({ ...h.deps, temporal: await connectTemporal(h.config, '127.0.0.1:1', h.payloadCodec, { lazy: true }) });
    const post = (key?: string) =>
      offline.request('/api/v1/invitations/bulk', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'text/csv', ...(key ? { 'idempotency-key': key } : {}) },
        body: 'username,email,userType\noffline.a,offline.a@example.com,member\n',
      });
    const before = await h.db.selectFrom('bulk_batches').select('id').execute();
    const res = await post();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await h.db.selectFrom('bulk_batches').select('id').execute()).toEqual(before);

    expect((await post('offline-key')).status).toBe(503);
    const retried = await csv('username,email,userType\noffline.a,offline.a@example.com,member\n', { 'idempotency-key': 'offline-key' });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect((await finished(retried.body.id, 30_000)).counts).toMatchObject({ created: 1 });
  });
});

describe('Idempotency-Key and dry runs', () => {
  const file = (prefix: string) => `username,email,userType\n${prefix}.a,${prefix}.a@example.com,member\n${prefix}.b,${prefix}.b@example.com,member\n`;

  it('a retry with the same key answers with the same batch and invites nobody twice; another file under the key is a 422', async () => {
    const first = await csv(file('idem'), { 'idempotency-key': 'bulk-key-1' });
    const again = await csv(file('idem'), { 'idempotency-key': 'bulk-key-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const done = await finished(first.body.id, 30_000);
    expect(done.counts).toMatchObject({ created: 2, failed: 0 });
    const afterDone = await csv(file('idem'), { 'idempotency-key': 'bulk-key-1' });
    expect(afterDone.body).toMatchObject({ id: first.body.id, status: 'completed', counts: { created: 2 } });
    expect(await h.db.selectFrom('users').select('id').where('username', 'like', 'idem.%').execute()).toHaveLength(2);
    const other = await csv(file('other'), { 'idempotency-key': 'bulk-key-1' });
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused/);
  });

  it('a double click (both requests at once) makes one batch', async () => {
    const [a, b] = await Promise.all([csv(file('twice'), { 'idempotency-key': 'bulk-key-2' }), csv(file('twice'), { 'idempotency-key': 'bulk-key-2' })]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.id).toBe(a.body.id);
    expect(await h.db.selectFrom('bulk_batches').select('id').where('idempotency_key', '=', 'bulk-key-2').execute()).toHaveLength(1);
    expect((await finished(a.body.id, 30_000)).counts).toMatchObject({ created: 2, failed: 0 });
  });

  it('?dryRun=true says what would happen to each row, and stores and invites nothing', async () => {
    const before = await h.db.selectFrom('bulk_batches').select('id').execute();
    const res = await h.api('POST', '/api/v1/invitations/bulk?dryRun=true', `username,email,userType\ndry.a,dry.a@example.com,member\ntaken.name,dry.b@example.com,member\ndry.c,bad,member\n`, {
      'content-type': 'text/csv',
    });
    expect(res.status).toBe(200);
    expect(res.body.counts).toEqual({ total: 3, valid: 1, failed: 2 });
    expect(res.body.rows.map((r: any) => [r.row, r.status, r.problem?.type.split('/').at(-1) ?? null])).toEqual([
      [1, 'valid', null],
      [2, 'failed', 'username-taken'],
      [3, 'failed', 'validation-failed'],
    ]);
    expect(await h.db.selectFrom('bulk_batches').select('id').execute()).toEqual(before);
    expect(await h.db.selectFrom('users').select('id').where('username', 'like', 'dry.%').execute()).toEqual([]);
  });
});
