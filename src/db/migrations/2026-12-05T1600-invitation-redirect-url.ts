import { sql, type Kysely } from 'kysely';

/**
 * Where the invitee goes after setting the password (issue 17.2): the platform's page, given
 * with the invitation. The API checks it against ACCEPT_REDIRECT_ORIGINS; the database keeps
 * it to an absolute http(s) URL of bounded length, whatever writes it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('invitations')
    .addColumn('redirect_url', 'text', (c) => c.check(sql`redirect_url ~ '^https?://' and length(redirect_url) <= 2048`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invitations').dropColumn('redirect_url').execute();
}
