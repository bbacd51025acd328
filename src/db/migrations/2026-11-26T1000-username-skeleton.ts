import { sql, type Kysely } from 'kysely';
import unhomoglyph from 'unhomoglyph';

/**
 * No two live usernames may look alike (UTS #39 skeletons, security.md 18): the skeleton of
 * the canonical username is stored and unique among users not deleted.
 *
 * Existing rows get their skeleton here, computed from username_key with the same library
 * and formula as the application (a migration never imports application code, so the one
 * line is repeated on purpose). Nothing has been deployed, so only development databases
 * have rows; if two of their live users already look alike, the migration stops and names
 * them rather than choosing which one loses its name.
 */
const skeleton = (usernameKey: string) => unhomoglyph(usernameKey.normalize('NFD')).toLowerCase().normalize('NFD');

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('username_skeleton', 'text').execute();
  const rows = await db.selectFrom('users').select(['id', 'username', 'username_key', 'deleted_at']).execute();
  const live = new Map<string, string>();
  const clashes: string[] = [];
  for (const row of rows) {
    const value = skeleton(row.username_key as string);
    if (row.deleted_at === null) {
      const other = live.get(value);
      if (other !== undefined) clashes.push(`"${other}" and "${row.username as string}"`);
      live.set(value, row.username as string);
    }
    await db.updateTable('users').set({ username_skeleton: value }).where('id', '=', row.id).execute();
  }
  if (clashes.length) {
    throw new Error(`These live users have usernames that look alike; rename or delete one of each pair, then migrate again: ${clashes.join(', ')}`);
  }
  await db.schema.alterTable('users').alterColumn('username_skeleton', (c) => c.setNotNull()).execute();
  await sql`create unique index users_username_skeleton_live on users (username_skeleton) where deleted_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('username_skeleton').execute();
}
