import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resendsLimited } from '../src/metrics.js';
import { eventually, startHarness, type Harness } from './support/harness.js';

/**
 * Mail bombing through R7 (issue 15.3): one emails:write key sent 61 copies to one address in
 * 29 s. Copies of one mail and copies to one recipient are limited within a window, counted
 * in the transaction that logs a copy, so parallel requests cannot pass the limit together.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { RESEND_LIMIT_PER_EMAIL: '2', RESEND_LIMIT_PER_RECIPIENT: '3', RESEND_LIMIT_WINDOW: '1 hour' } });
});
afterAll(async () => h?.close());

const resend = (emailId: string, headers: Record<string, string> = {}) => h.api('POST', `/api/v1/emails/${emailId}/resend`, undefined, headers);
const copiesOf = async (emailId: string) => (await h.db.selectFrom('emails').select('id').where('resent_from', '=', emailId).execute()).length;
const limitedCount = async (limit: string) => (await resendsLimited.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

async function invited(username: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  return eventually(async () => (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`)).body.items[0]?.id as string | undefined, 15_000, 'the invitation mail');
}

describe('re-send limits', () => {
  it('refuses the copy past RESEND_LIMIT_PER_EMAIL with 429, Retry-After and the limit named; a replayed key still answers', async () => {
    const emailId = await invited('bomb.one');
    const before = await limitedCount('per_email');
    const first = await resend(emailId, { 'idempotency-key': 'bomb-1' });
    expect(first.status).toBe(202);
    expect((await resend(emailId)).status).toBe(202);
    const refused = await resend(emailId);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 429, limit: 'per_email', type: expect.stringMatching(/resend-limited$/) });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await copiesOf(emailId)).toBe(2);
    expect(await limitedCount('per_email')).toBe(before + 1);
    // A retry of a copy already made is its answer, not another copy: never refused.
    const replay = await resend(emailId, { 'idempotency-key': 'bomb-1' });
    expect(replay.status).toBe(202);
    expect(replay.body.email.id).toBe(first.body.email.id);
  });

  it('lets no more than the limit through when many arrive at once', async () => {
    const emailId = await invited('bomb.parallel');
    const answers = await Promise.all(Array.from({ length: 10 }, () => resend(emailId)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, 202, 429, 429, 429, 429, 429, 429, 429, 429]);
    expect(await copiesOf(emailId)).toBe(2);
  });

  it('limits copies to one recipient across mails: copies of copies count too', async () => {
    const original = await invited('bomb.chain');
    const before = await limitedCount('per_recipient');
    const a = await resend(original);
    expect((await resend(original)).status).toBe(202);
    // The copy is a mail of its own (0 copies of it yet), but its recipient has had 2 of 3.
    const b = await resend(a.body.email.id);
    expect(b.status).toBe(202);
    const refused = await resend(b.body.email.id);
    expect(refused.status).toBe(429);
    expect(refused.body.limit).toBe('per_recipient');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limitedCount('per_recipient')).toBe(before + 1);
    // Another recipient is not affected.
    expect((await resend(await invited('bomb.bystander'))).status).toBe(202);
  });
});
