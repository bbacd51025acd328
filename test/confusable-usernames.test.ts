import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as skeletonMigration from '../src/db/migrations/2026-11-26T1000-username-skeleton.js';
import { canonicalUsername, skeletonOfUsernameKey } from '../src/users/identity.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const CYRILLIC_ALICE = '\u0430lice'; // "а" is U+0430 CYRILLIC SMALL LETTER A
const invite = (username: string, email: string) => h.api('POST', '/api/v1/invitations', { username, email, userType: 'member' });
const skeleton = (username: string) => skeletonOfUsernameKey(canonicalUsername(username));

describe('the skeleton (UTS #39) of a username', () => {
  it('is the same for names that look alike, and different for names that do not', () => {
    expect(CYRILLIC_ALICE).not.toBe('alice');
    expect(skeleton(CYRILLIC_ALICE)).toBe(skeleton('alice'));
    expect(skeleton('\u0440\u0430\u0443\u0440\u0430l')).toBe(skeleton('paypal')); // Cyrillic р а у р а
    expect(skeleton('ALICE')).toBe(skeleton('alice'));
    expect(skeleton('rnary')).toBe(skeleton('mary'));
    // The mapping may answer in capitals (0 → O); the skeleton is folded again after it.
    expect(skeleton('g00gle')).toBe(skeleton('google'));
    expect(skeleton('B0B')).toBe(skeleton('bob'));
    expect(skeleton('alina')).not.toBe(skeleton('alice'));
    expect(skeleton('jürgen')).not.toBe(skeleton('jurgen'));
  });
});

describe('usernames that look like one in use are refused', () => {
  it('on invite: a Cyrillic "аlice" beside "alice" is a 409 that says why', async () => {
    expect((await invite('alice', 'alice@example.com')).status).toBe(201);
    const clash = await invite(CYRILLIC_ALICE, 'alice2@example.com');
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ status: 409, errors: [{ field: 'username', message: 'looks the same as a username already in use' }] });
    expect(await h.db.selectFrom('users').select('id').where('email_key', '=', 'alice2@example.com').execute()).toEqual([]);
  });

  it('on rename: PATCH to a look-alike of another live user is a 409; renaming to a look-alike of oneself is fine', async () => {
    const bob = await invite('bob', 'bob@example.com');
    expect(bob.status).toBe(201);
    const rename = await h.api('PATCH', `/api/v1/users/${bob.body.user.id}`, { username: CYRILLIC_ALICE });
    expect(rename.status).toBe(409);
    expect(rename.body.errors).toEqual([{ field: 'username', message: 'looks the same as a username already in use' }]);
    expect((await h.api('GET', `/api/v1/users/${bob.body.user.id}`)).body.username).toBe('bob');
    // Bob's own look-alike is his to take: the only user it resembles is bob himself.
    expect((await h.api('PATCH', `/api/v1/users/${bob.body.user.id}`, { username: 'B\u043Eb' })).status).toBe(200); // Cyrillic о
  });

  it('the database refuses a look-alike even when the code does not check', async () => {
    const alice = await h.db.selectFrom('users').select(['username_skeleton']).where('username_key', '=', 'alice').executeTakeFirstOrThrow();
    const insert = h.db
      .insertInto('users')
      .values({
        id: '00000000-0000-7000-8000-000000000001',
        username: CYRILLIC_ALICE,
        username_key: canonicalUsername(CYRILLIC_ALICE),
        username_skeleton: alice.username_skeleton,
        email: 'raw@example.com',
        email_key: 'raw@example.com',
        user_type: 'member',
        is_staff: false,
        locale: 'en',
        status: 'invited',
        updated_at: new Date(),
      })
      .execute();
    await expect(insert).rejects.toMatchObject({ code: '23505', constraint_name: 'users_username_skeleton_live' });
  });

  it('a deleted user frees the look-alikes of its name at once', async () => {
    const carl = await invite('carl', 'carl@example.com');
    expect((await invite('car1', 'carl2@example.com')).status).toBe(409); // "1" looks like "l"
    expect((await h.api('DELETE', `/api/v1/users/${carl.body.user.id}`)).status).toBe(204);
    expect((await invite('car1', 'carl2@example.com')).status).toBe(201);
  });
});

describe('the migration that adds skeletons', () => {
  it('gives existing rows their skeleton, and stops naming the pair when two live users look alike', async () => {
    const db = h.db as unknown as Kysely<any>;
    await skeletonMigration.down(db);
    await skeletonMigration.up(db);
    const rows = await db.selectFrom('users').select(['username_key', 'username_skeleton']).execute();
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) expect(row.username_skeleton).toBe(skeletonOfUsernameKey(row.username_key));

    await skeletonMigration.down(db);
    // Written before skeletons existed: nothing stopped a look-alike then.
    await sql`update users set username = ${CYRILLIC_ALICE}, username_key = ${canonicalUsername(CYRILLIC_ALICE)} where email_key = 'bob@example.com'`.execute(db);
    const failure = await skeletonMigration.up(db).then(() => undefined, (error: Error) => error.message);
    expect(failure).toMatch(/look alike/);
    expect(failure).toContain('"alice"');
    expect(failure).toContain(`"${CYRILLIC_ALICE}"`);
  });
});
