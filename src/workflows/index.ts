export { invitationWorkflow } from './invitation.js';
