import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Mailer } from '../mail/mailer.js';
import type { SecretBox } from '../mail/secret-box.js';
import { createBulkActivities } from './bulk.js';
import { createInvitationActivities } from './invitation.js';
import { createInvitationReminderActivities } from './invitation-reminder.js';
import { createEmailActivities } from './email.js';
import { createPasswordResetActivities } from './password-reset.js';
import { createReactivationActivities } from './reactivation.js';
import { createWebhookActivities } from './webhooks.js';
import type { WebhookNetwork } from '../webhooks/address-policy.js';

export interface ActivityDeps {
  db: Database;
  mailer: Mailer;
  secretBox: SecretBox;
  /** How webhook hosts resolve and which addresses deliveries may reach (tests: loopback only). */
  webhookNetwork?: WebhookNetwork;
  /** The whole configuration: bulk invitations go through the API's invite path (inviteUser). */
  config: Config;
}

/** The worker passes real dependencies; unit tests pass fakes. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInvitationActivities(deps),
    ...createInvitationReminderActivities(deps),
    ...createEmailActivities(deps),
    ...createPasswordResetActivities(deps),
    ...createReactivationActivities(deps),
    ...createWebhookActivities(deps),
    ...createBulkActivities(deps),
  };
}
