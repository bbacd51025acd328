export { invitationWorkflow } from './invitation.js';
export { passwordResetWorkflow } from './password-reset.js';
export { reactivationWorkflow } from './reactivation.js';
export { emailResendWorkflow } from './email-resend.js';
export { webhookDispatcherWorkflow } from './webhook-dispatcher.js';
export { webhookDeliveryWorkflow } from './webhook-delivery.js';
export { bulkInvitationWorkflow } from './bulk-invitation.js';
export { invitationReconcilerWorkflow } from './invitation-reconciler.js';
