import { ServiceError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentIds } from '../src/invitations/idempotency.js';
import { inviteUser } from '../src/invitations/invitation.service.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { createApp } from '../src/api/app.js';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 14.4: when the answer to the workflow start is lost (a deadline, a broken
 * connection), the API looks whether the start happened. It must look for the run of *this*
 * invitation: an earlier, ended run under the same workflow id is not it.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

/** A client whose start never reaches the server but reports a deadline, as a lost answer would. */
function startAnswerLost(client: Client): Client {
  const workflow = Object.create(client.workflow);
  workflow.start = async () => {
    throw new ServiceError('deadline exceeded', { cause: Object.assign(new Error('DEADLINE_EXCEEDED'), { code: 4 }) });
  };
  const temporal = Object.create(client);
  Object.defineProperty(temporal, 'workflow', { value: workflow });
  return temporal;
}

describe('an invite whose start answer was lost', () => {
  it('with an earlier ended run under the same id: 503, nothing created (not a 201 with no workflow)', async () => {
    const idempotency = { principal: 'ambiguous-test', key: 'retry-1' };
    const { userId } = idempotentIds(idempotency);
    // An earlier run under this workflow id, ended long ago.
    const earlier = await h.client.workflow.start('someEarlierRun', { workflowId: invitationWorkflowId(userId), taskQueue: 'nobody-polls-this' });
    await earlier.terminate('ended long ago');

    const deps = { ...h.deps, temporal: startAnswerLost(h.client) };
    const command = { username: 'lost.answer', email: 'lost.answer@example.com', userType: 'member' };
    await expect(inviteUser(deps, command, { name: 'staff:test', key: null }, idempotency)).rejects.toMatchObject({ type: 'DependencyUnavailable', message: expect.stringContaining('no invitation was created') });
    expect(await h.db.selectFrom('users').select('id').where('id', '=', userId).execute()).toEqual([]);
  });

  it('when the start did happen: finds its own run and answers 201', async () => {
    const idempotency = { principal: 'ambiguous-test', key: 'retry-2' };
    const command = { username: 'happened.anyway', email: 'happened.anyway@example.com', userType: 'member' };
    // The start reaches the server; only its answer is lost.
    const workflow = Object.create(h.client.workflow);
    workflow.start = async (...args: Parameters<Client['workflow']['start']>) => {
      await h.client.workflow.start(...args);
      throw new ServiceError('deadline exceeded', { cause: Object.assign(new Error('DEADLINE_EXCEEDED'), { code: 4 }) });
    };
    const temporal = Object.create(h.client);
    Object.defineProperty(temporal, 'workflow', { value: workflow });
    const result = await inviteUser({ ...h.deps, temporal }, command, { name: 'staff:test', key: null }, idempotency);
    expect(result.user.username).toBe('happened.anyway');
    await h.mail.waitFor((m) => m.to.includes('happened.anyway@example.com'));
  });
});

describe('a bulk invitation whose start answer was lost', () => {
  it('keeps its batch when the start happened after all, and the batch runs', async () => {
    const workflow = Object.create(h.client.workflow);
    workflow.start = async (...args: Parameters<Client['workflow']['start']>) => {
      await h.client.workflow.start(...args);
      throw new ServiceError('deadline exceeded', { cause: Object.assign(new Error('DEADLINE_EXCEEDED'), { code: 4 }) });
    };
    const temporal = Object.create(h.client);
    Object.defineProperty(temporal, 'workflow', { value: workflow });
    const app = createApp({ ...h.deps, temporal });
    const res = await app.request('/api/v1/invitations/bulk', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ username: 'bulk.lost', email: 'bulk.lost@example.com', userType: 'member' }] }),
    });
    expect(res.status).toBeLessThan(300);
    const batches = await h.db.selectFrom('bulk_batches').select('id').execute();
    expect(batches).toHaveLength(1);
    await h.mail.waitFor((m) => m.to.includes('bulk.lost@example.com'), 20_000);
  });
});
