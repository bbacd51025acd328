import { randomUUID } from 'node:crypto';
import { createPlatformClient, type PlatformClient, type Schemas } from '../packages/client/src/index.js';

/**
 * What the platform does when staff invite someone, with the typed client: invite (safe to
 * retry with the same Idempotency-Key), then read the user back with its invitation and the
 * state of the invitation mail.
 *
 *   API_URL=http://localhost:3000 ADMIN_API_KEY=… npx tsx examples/invite.ts erika erika@example.com
 */
export async function inviteAndReadBack(client: PlatformClient, invitee: Schemas['InviteRequest'], idempotencyKey = randomUUID()) {
  const invited = await client.POST('/api/v1/invitations', {
    body: invitee,
    params: { header: { 'idempotency-key': idempotencyKey } },
  });
  if (invited.error) {
    // A problem document (RFC 9457): `type` and `title` say what, `errors` which fields.
    throw new Error(`invite failed (${invited.response.status}): ${invited.error.title}: ${invited.error.detail ?? ''}`);
  }
  const read = await client.GET('/api/v1/users/{id}', { params: { path: { id: invited.data.user.id } } });
  if (read.error) throw new Error(`reading the user failed (${read.response.status}): ${read.error.title}`);
  return {
    userId: read.data.id,
    username: read.data.username,
    status: read.data.status,
    invitationExpiresAt: invited.data.invitation.expiresAt,
    invitationStatus: read.data.invitation?.status ?? null,
    invitationEmail: read.data.invitationEmail,
  };
}

if (import.meta.url === new URL(process.argv[1] ?? '', 'file:').href) {
  const [username = 'erika', email = `${username}@example.com`] = process.argv.slice(2);
  const client = createPlatformClient({
    baseUrl: process.env.API_URL ?? 'http://localhost:3000',
    apiKey: process.env.ADMIN_API_KEY ?? '',
    actor: 'staff:example',
  });
  const result = await inviteAndReadBack(client, { username, email, userType: 'member', locale: 'en' });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
