import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { findTemporalCli } from '../../src/dev/temporal-cli.js';
import { invitationWorkflowId } from '../../src/workflows/invitation.messages.js';
import { reactivationWorkflowId } from '../../src/workflows/reactivation.messages.js';
import { bulkInvitationWorkflowId } from '../../src/workflows/bulk-invitation.messages.js';
import { webhookDispatcherWorkflowId, webhookLaneWorkflowId } from '../../src/workflows/webhook.messages.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, linkFrom, startHarness, type Harness } from '../support/harness.js';
import { HISTORY_FIXTURE_PAYLOAD_KEYS } from './fixture-key.js';

/**
 * Records the histories that test/replay.test.ts replays (`npm run histories:record`): each
 * workflow type along each of its paths, driven through the HTTP API on the dev server, as in
 * production. Re-record only when a workflow change is meant to be incompatible
 * (docs/operations.md, "Upgrading with running workflows"); otherwise the old histories are exactly what must keep replaying.
 */
let h: Harness;
let receiver: Server;
const pub = { authorization: '' };
beforeAll(async () => {
  // Short lifetimes, so that the expiry path (with its reminder) runs in seconds; the webhook
  // dispatcher on, delivering to a receiver on loopback.
  h = await startHarness({
    config: { TEMPORAL_PAYLOAD_KEYS: HISTORY_FIXTURE_PAYLOAD_KEYS, INVITATION_TTL: '6s', INVITATION_REMINDER: '3s', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL: '1s' },
    webhooks: true,
  });
  receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  receiver?.close();
  await h?.close();
});

/**
 * Writes the history unless a recording of that name exists: a recorded history is what
 * workflows already running in production look like, so it is kept, and a new path (a patch)
 * gets a recording of its own name. Delete a file on purpose to record it again.
 */
async function save(name: string, workflowId: string) {
  const handle = h.client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  if (existsSync(new URL(`./${name}.json`, import.meta.url))) return;
  // The CLI's export is the format Temporal UI downloads and historyFromJSON reads.
  const json = execFileSync(findTemporalCli(), ['workflow', 'show', '--address', inject('temporalAddress'), '--workflow-id', workflowId, '--output', 'json'], { encoding: 'utf8' });
  writeFileSync(new URL(`./${name}.json`, import.meta.url), `${JSON.stringify(JSON.parse(json), null, 2)}\n`);
}

async function invite(username: string): Promise<{ userId: string; invitationId: string; email: string }> {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' }, { 'x-actor': 'staff:recorder' });
  expect(res.status).toBe(201);
  return { userId: res.body.user.id, invitationId: res.body.invitation.id, email: `${username}@example.com` };
}

const sentMail = (userId: string, type: string) =>
  eventually(async () => {
    const page = (await h.api('GET', `/api/v1/emails?userId=${userId}&type=${type}`)).body;
    return page.items.find((m: { status: string }) => m.status === 'sent');
  }, 30_000, `a sent ${type} mail`);

it('records the histories', async () => {
  const hook = await h.api('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, events: ['user.invited'] });
  expect(hook.status).toBe(201);
  // Invitation, accepted (with a re-send of its mail while it waits: the resend update).
  const accepted = await invite('replay.accepted');
  const invitationMail = await sentMail(accepted.userId, 'user_invitation');
  expect((await h.api('POST', `/api/v1/emails/${invitationMail.id}/resend`, undefined, { 'x-actor': 'staff:recorder' })).status).toBe(202);
  const link = linkFrom((await h.mail.waitFor((m) => m.to.includes(accepted.email), 15_000)).text);
  await eventually(async () => h.mail.messages().filter((m) => m.to.includes(accepted.email)).length === 2, 15_000, 'the copy');
  expect((await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'correct horse battery staple' }, pub)).status).toBe(200);
  await save('invitation-accepted', invitationWorkflowId(accepted.userId));
  // Today's code takes the `deadline-independent-of-mail` path; the two recordings above were
  // made before that patch and keep the old path covered, these two cover the new one.
  await save('invitation-accepted-patched', invitationWorkflowId(accepted.userId));
  // The webhook lane that delivered the accepted user's user.invited event.
  await eventually(async () => (await h.db.selectFrom('webhook_deliveries').select('status').where('user_id', '=', accepted.userId).executeTakeFirst())?.status === 'succeeded', 30_000, 'the webhook delivery');
  await save('webhook-delivery', webhookLaneWorkflowId(hook.body.id, accepted.userId));

  // Invitation, expired: the reminder goes out, then the lifetime ends.
  const expired = await invite('replay.expired');
  await save('invitation-expired', invitationWorkflowId(expired.userId));
  await save('invitation-expired-patched', invitationWorkflowId(expired.userId));

  // Invitation, revoked; then the revoked user is reactivated by hand, twice, and deleted.
  const revoked = await invite('replay.revoked');
  await sentMail(revoked.userId, 'user_invitation');
  expect((await h.api('DELETE', `/api/v1/invitations/${revoked.invitationId}`, undefined, { 'x-actor': 'staff:recorder' })).status).toBe(204);
  await save('invitation-revoked', invitationWorkflowId(revoked.userId));
  expect((await h.api('POST', `/api/v1/users/${revoked.userId}/reactivate`, undefined, { 'x-actor': 'staff:recorder' })).status).toBe(200);
  expect((await h.api('POST', `/api/v1/users/${revoked.userId}/reactivate`, undefined, { 'x-actor': 'staff:recorder' })).status).toBe(200);
  expect((await h.api('DELETE', `/api/v1/users/${revoked.userId}`, undefined, { 'x-actor': 'staff:recorder' })).status).toBe(204);
  await save('reactivation', reactivationWorkflowId(revoked.userId));

  // Password reset of the accepted user, and a re-send of its mail (its own short workflow).
  expect((await h.api('POST', '/api/v1/public/password-resets', { email: accepted.email }, pub)).status).toBe(202);
  const resetMail = await sentMail(accepted.userId, 'password_reset');
  const resetWorkflows = [];
  for await (const wf of h.client.workflow.list({ query: `WorkflowType = "passwordResetWorkflow" AND TaskQueue = "${h.config.TEMPORAL_TASK_QUEUE}"` })) resetWorkflows.push(wf.workflowId);
  expect(resetWorkflows).toHaveLength(1);
  await save('password-reset', resetWorkflows[0]!);
  const key = 'replay-recorder-resend';
  expect((await h.api('POST', `/api/v1/emails/${resetMail.id}/resend`, undefined, { 'x-actor': 'staff:recorder', 'idempotency-key': key })).status).toBe(202);
  await save('email-resend', await resendWorkflowOf(key));

  // A bulk batch of two rows, one of them refused at once (a name taken above).
  const bulk = await h.api('POST', '/api/v1/invitations/bulk', { rows: [{ username: 'replay.bulk', email: 'replay.bulk@example.com', userType: 'member' }, { username: 'replay.accepted', email: 'other@example.com', userType: 'member' }] });
  expect(bulk.status).toBe(202);
  await save('bulk-invitation', bulkInvitationWorkflowId(bulk.body.id));

  // The dispatcher runs for good (continuing as new); its history so far, ended by hand.
  await h.client.workflow.getHandle(webhookDispatcherWorkflowId(h.config.TEMPORAL_TASK_QUEUE)).terminate('recorded');
  await save('webhook-dispatcher', webhookDispatcherWorkflowId(h.config.TEMPORAL_TASK_QUEUE));
}, 120_000);

async function resendWorkflowOf(key: string): Promise<string> {
  return eventually(async () => {
    for await (const wf of h.client.workflow.list({ query: `WorkflowType = "emailResendWorkflow" AND TaskQueue = "${h.config.TEMPORAL_TASK_QUEUE}"` })) return wf.workflowId;
    return undefined;
  }, 15_000, `the re-send workflow for ${key}`);
}
