import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import { endUnusedReactivation } from '../users/account-status.js';
import { findUserById } from '../users/user.repository.js';
import type { ActivityDeps } from './index.js';

export type MidnightOutcome = 'kept' | 'deactivated' | 'superseded' | { laterDeadline: string };

export function createReactivationActivities({ db }: ActivityDeps) {
  return {
    /**
     * Midnight after a manual reactivation (R10): deactivate again unless the user logged in
     * since being reactivated (the conditional update in account-status decides). Whichever
     * of two simultaneous reactivations committed, the deadline matches.
     */
    async endManualReactivation(input: { userId: string; deadline: string }): Promise<MidnightOutcome> {
      const deadline = new Date(input.deadline);
      return db.transaction().execute(async (tx) => {
        if (await endUnusedReactivation(tx, input.userId, deadline)) {
          await recordAudit(tx, { actor: SYSTEM, action: 'user.reactivation_expired', userId: input.userId, details: { deadline: input.deadline } });
          return 'deactivated';
        }
        // Nothing changed: say why, also when this is a retry of an attempt that did commit.
        const user = await findUserById(tx, input.userId);
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
