import type { Kysely } from 'kysely';

/**
 * - link_email_key: the canonical address an invitation link was mailed to. Accepting
 *   confirms the user's address only when it is still that one: a link never confirms an
 *   address it never reached.
 * - invited_username_key, invited_email_key: who the invitation was for. Replacing both
 *   (in one edit or several) is R11's overwrite, which ends a pending invitation.
 * - request_fingerprint: a digest of the request that created an invitation under an
 *   Idempotency-Key, so a retry is told apart from a different request with the same key.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('invitations')
    .addColumn('link_email_key', 'text')
    .addColumn('invited_username_key', 'text')
    .addColumn('invited_email_key', 'text')
    .addColumn('request_fingerprint', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('invitations')
    .dropColumn('link_email_key')
    .dropColumn('invited_username_key')
    .dropColumn('invited_email_key')
    .dropColumn('request_fingerprint')
    .execute();
}
