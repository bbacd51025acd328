import { describe, expectTypeOf, it } from 'vitest';
import type { BulkInvitationWorkflow } from '../src/workflows/bulk-invitation.messages.js';
import type { bulkInvitationWorkflow } from '../src/workflows/bulk-invitation.js';
import type { emailResendWorkflow } from '../src/workflows/email-resend.js';
import type { InvitationReconcilerWorkflow } from '../src/workflows/invitation-reconciler.messages.js';
import type { invitationReconcilerWorkflow } from '../src/workflows/invitation-reconciler.js';
import type { InvitationWorkflow } from '../src/workflows/invitation.messages.js';
import type { invitationWorkflow } from '../src/workflows/invitation.js';
import type { EmailResendWorkflow } from '../src/workflows/mail.messages.js';
import type { PasswordResetWorkflow } from '../src/workflows/password-reset.messages.js';
import type { passwordResetWorkflow } from '../src/workflows/password-reset.js';
import type { ReactivationWorkflow } from '../src/workflows/reactivation.messages.js';
import type { reactivationWorkflow } from '../src/workflows/reactivation.js';
import type { webhookDeliveryWorkflow } from '../src/workflows/webhook-delivery.js';
import type { webhookDispatcherWorkflow } from '../src/workflows/webhook-dispatcher.js';
import type { WebhookDeliveryWorkflow, WebhookDispatcherWorkflow } from '../src/workflows/webhook.messages.js';

/**
 * Services start workflows through the signatures in the `*.messages.ts` files, so that they
 * never import workflow code (the folders depend one way: docs/architecture.md; lint keeps
 * it). Checked by the type checker (`npm run typecheck` runs over test/): a workflow whose
 * signature drifts from its declared one fails here, not at a start in production.
 */
describe('each workflow has the signature its messages file declares', () => {
  it('for every workflow the services start', () => {
    expectTypeOf<typeof invitationWorkflow>().toEqualTypeOf<InvitationWorkflow>();
    expectTypeOf<typeof bulkInvitationWorkflow>().toEqualTypeOf<BulkInvitationWorkflow>();
    expectTypeOf<typeof emailResendWorkflow>().toEqualTypeOf<EmailResendWorkflow>();
    expectTypeOf<typeof reactivationWorkflow>().toEqualTypeOf<ReactivationWorkflow>();
    expectTypeOf<typeof webhookDispatcherWorkflow>().toEqualTypeOf<WebhookDispatcherWorkflow>();
    expectTypeOf<typeof webhookDeliveryWorkflow>().toEqualTypeOf<WebhookDeliveryWorkflow>();
    expectTypeOf<typeof invitationReconcilerWorkflow>().toEqualTypeOf<InvitationReconcilerWorkflow>();
    expectTypeOf<typeof passwordResetWorkflow>().toEqualTypeOf<PasswordResetWorkflow>();
  });
});
