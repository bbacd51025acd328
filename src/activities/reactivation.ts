import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.repository.js';
import { revokeOpenResets } from '../passwords/password-reset.repository.js';
import type { ActivityDeps } from './index.js';

export function createReactivationActivities({ db }: ActivityDeps) {
  return {
    /**
     * Midnight after a manual reactivation (R10): deactivate again unless the user logged in
     * since. The WHERE clause is the whole decision, so a login committing first always wins
     * and a newer reactivation (other reactivated_at) is left alone.
     */
    async endManualReactivation(input: { userId: string; reactivatedAt: string }): Promise<'kept' | 'deactivated' | 'superseded'> {
      return db.transaction().execute(async (tx) => {
        const deactivated = await tx
          .updateTable('users')
          .set({
            status: 'inactive',
            deactivated_at: sql<Date>`now()`,
            deactivation_reason: 'reactivation_unused',
            reactivation_deadline: null,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', input.userId)
          .where('status', '=', 'active')
          .where('deleted_at', 'is', null)
          .where('reactivated_at', '=', new Date(input.reactivatedAt))
          .where((eb) => eb.or([eb('last_login_at', 'is', null), eb('last_login_at', '<', new Date(input.reactivatedAt))]))
          .returning('id')
          .executeTakeFirst();
        if (deactivated) {
          await revokeOpenResets(tx, input.userId, 'deactivated');
          await recordAudit(tx, { actor: 'system', action: 'user.reactivation_expired', userId: input.userId, details: { reactivatedAt: input.reactivatedAt } });
          return 'deactivated';
        }
        const user = await tx.selectFrom('users').select(['reactivated_at']).where('id', '=', input.userId).executeTakeFirst();
        const same = user?.reactivated_at && new Date(user.reactivated_at).getTime() === Date.parse(input.reactivatedAt);
        return same ? 'kept' : 'superseded';
      });
    },
  };
}
