// Accept an invitation: choosing the password is what accepts it.
import { passwordLinkPage } from './common.js';

passwordLinkPage({ inspectPath: '/api/v1/public/invitations/inspect', completePath: '/api/v1/public/invitations/accept' });
