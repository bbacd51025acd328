import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.repository.js';
import { revokeOpenResets } from '../passwords/password-reset.repository.js';
import type { ActivityDeps } from './index.js';

export type MidnightOutcome = 'kept' | 'deactivated' | 'superseded' | { laterDeadline: string };

export function createReactivationActivities({ db }: ActivityDeps) {
  return {
    /**
     * Midnight after a manual reactivation (R10): deactivate again unless the user logged in
     * since being reactivated. The WHERE clause is the whole decision: a login committing
     * first always wins; a reactivation with a later deadline (a later day) is left to its own
     * timer; and whichever of two simultaneous reactivations committed, the deadline matches.
     */
    async endManualReactivation(input: { userId: string; deadline: string }): Promise<MidnightOutcome> {
      const deadline = new Date(input.deadline);
      return db.transaction().execute(async (tx) => {
        const deactivated = await tx
          .updateTable('users')
          .set({
            status: 'inactive',
            deactivated_at: sql<Date>`now()`,
            deactivation_reason: 'reactivation_unused',
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', input.userId)
          .where('status', '=', 'active')
          .where('deleted_at', 'is', null)
          .where('reactivation_deadline', '<=', deadline)
          .where((eb) => eb.or([eb('last_login_at', 'is', null), eb('last_login_at', '<', eb.ref('reactivated_at'))]))
          .returning('id')
          .executeTakeFirst();
        if (deactivated) {
          await revokeOpenResets(tx, input.userId, 'deactivated');
          await recordAudit(tx, { actor: 'system', action: 'user.reactivation_expired', userId: input.userId, details: { deadline: input.deadline } });
          return 'deactivated';
        }
        // Nothing changed: say why, also when this is a retry of an attempt that did commit.
        const user = await tx
          .selectFrom('users')
          .select(['status', 'deactivation_reason', 'reactivation_deadline'])
          .where('id', '=', input.userId)
          .executeTakeFirst();
        const rowDeadline = user?.reactivation_deadline ? new Date(user.reactivation_deadline).getTime() : undefined;
        const own = rowDeadline === deadline.getTime();
        if (own && user?.status === 'inactive' && user.deactivation_reason === 'reactivation_unused') return 'deactivated';
        if (own && user?.status === 'active') return 'kept';
        // Two reactivations straddling midnight: the one that committed holds a later deadline
        // than the signal this timer was set from. Its timer must not get lost.
        if (user?.status === 'active' && rowDeadline !== undefined && rowDeadline > deadline.getTime()) {
          return { laterDeadline: new Date(rowDeadline).toISOString() };
        }
        return 'superseded';
      });
    },
  };
}
