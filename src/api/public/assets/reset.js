// Reset a forgotten password: the new password also confirms the address and reactivates.
import { passwordLinkPage } from './common.js';

passwordLinkPage({ inspectPath: '/api/v1/public/password-resets/inspect', completePath: '/api/v1/public/password-resets/complete' });
