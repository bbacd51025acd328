import type { Kysely } from 'kysely';

/**
 * The canonical address an invitation link was mailed to. Accepting confirms the user's
 * address only when it is still that one: a link never confirms an address it never reached.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invitations').addColumn('link_email_key', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invitations').dropColumn('link_email_key').execute();
}
