// TypeScript compiled to CommonJS: the "require" declarations (dist/cjs) type the same client.
import { createPlatformClient, type PlatformClient } from '@invitations/client';

export const client: PlatformClient = createPlatformClient({ baseUrl: 'http://localhost:3000', apiKey: 'key', actor: 'staff:example' });
