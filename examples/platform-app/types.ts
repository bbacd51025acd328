// TypeScript: the declarations come with the package; a wrong field is a compile error.
import { createPlatformClient, type Schemas } from '@invitations/client';

const client = createPlatformClient({ baseUrl: 'http://localhost:3000', apiKey: 'key' });
const invitee: Schemas['InviteRequest'] = { username: 'erika', email: 'erika@example.com', userType: 'member', metadata: { tenant: 'acme' } };
export async function invite(): Promise<string | undefined> {
  const { data } = await client.POST('/api/v1/invitations', { body: invitee });
  return data?.user.id;
}
// @ts-expect-error: the API has no such field, and the types know it
export const wrong: Schemas['InviteRequest'] = { username: 'erika', email: 'erika@example.com', userType: 'member', nickname: 'E' };
