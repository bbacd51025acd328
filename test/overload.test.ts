import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/**
 * Under overload an invitation is either accepted durably and answered at once, or refused at
 * once with 503 and Retry-After, with nothing created (issue 8). The API admits at most
 * INVITE_MAX_IN_FLIGHT invitations at a time per process.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const post = (app: ReturnType<typeof createApp>, username: string) =>
  app.request('/api/v1/invitations', {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member', locale: 'en' }),
  });

describe('admission of invitations', () => {
  it('refuses what exceeds INVITE_MAX_IN_FLIGHT at once with 503 and Retry-After, creating nothing; the rest is whole', async () => {
    const app = createApp({ ...h.deps, config: { ...h.config, INVITE_MAX_IN_FLIGHT: 2 } });
    const names = Array.from({ length: 12 }, (_, i) => `burst.${i}`);
    const answers = await Promise.all(names.map((name) => post(app, name)));
    const byStatus = (status: number) => names.filter((_, i) => answers[i]!.status === status);
    const created = byStatus(201);
    const refused = byStatus(503);
    expect(created.length + refused.length).toBe(names.length);
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const [i, res] of answers.entries()) {
      if (res.status !== 503) continue;
      expect(res.headers.get('retry-after'), names[i]).toBe('1');
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((await res.json()).type).toBe('https://invitations.dev/problems/overloaded');
    }
    // Every admitted one is a whole invitation with its mail; no refused one left a trace.
    for (const name of created) await h.mail.waitFor((m) => m.to.includes(`${name}@example.com`));
    expect(await h.db.selectFrom('users').select('username').where('username', 'in', refused).execute()).toEqual([]);
    expect(await h.db.selectFrom('users').select('username').where('username', 'in', created).execute()).toHaveLength(created.length);
  });

  it('gives the slot back whatever the outcome: after a 409 and a 422 the next one is admitted', async () => {
    const app = createApp({ ...h.deps, config: { ...h.config, INVITE_MAX_IN_FLIGHT: 1 } });
    expect((await post(app, 'slot.once')).status).toBe(201);
    expect((await post(app, 'slot.once')).status).toBe(409);
    expect((await post(app, 'x')).status).toBe(422);
    expect((await post(app, 'slot.twice')).status).toBe(201);
  });
});
