// ES modules: invite someone with the platform's metadata, then read the user back.
//   API_URL=http://localhost:3000 ADMIN_API_KEY=… node invite.mjs erika erika@example.com
import { randomUUID } from 'node:crypto';
import process from 'node:process';
import { createPlatformClient } from '@invitations/client';

const [username = 'erika', email = `${username}@example.com`] = process.argv.slice(2);
const client = createPlatformClient({ baseUrl: process.env.API_URL ?? 'http://localhost:3000', apiKey: process.env.ADMIN_API_KEY ?? '', actor: 'staff:example' });

const invited = await client.POST('/api/v1/invitations', {
  body: { username, email, userType: 'member', locale: 'en', metadata: { tenant: 'acme' } },
  params: { header: { 'idempotency-key': randomUUID() } },
});
if (invited.error) {
  process.stderr.write(`invite failed (${invited.response.status}): ${invited.error.title}\n`);
  process.exit(1);
}
const read = await client.GET('/api/v1/users/{id}', { params: { path: { id: invited.data.user.id } } });
if (read.error) {
  process.stderr.write(`reading the user failed (${read.response.status}): ${read.error.title}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ userId: read.data.id, status: read.data.status, invitationStatus: read.data.invitation?.status ?? null, metadata: read.data.metadata })}\n`);
