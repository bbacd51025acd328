import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from './support/harness.js';

/**
 * The SMTP server took the mail (250) and then the database went away before the log said
 * `sent`: the retry must record it, not send a second copy. Found by the fault suite's
 * postgres-cut (one invitee of 77 got two copies, the log said one). Here the gap is made on
 * purpose: while the server holds its 250, the email log's table is renamed away, so the
 * write after the send fails; it comes back two seconds later.
 */
let h: Harness;
let armed = false;
beforeAll(async () => {
  h = await startHarness({
    mail: {
      answerDelayMs: ({ to }) => {
        if (!armed || !to.includes('gap@example.com')) return 0;
        armed = false;
        void (async () => {
          await sql`alter table emails rename to emails_away`.execute(h.db);
          await new Promise((r) => setTimeout(r, 2000));
          await sql`alter table emails_away rename to emails`.execute(h.db);
        })();
        return 500; // the rename is done before the server says 250
      },
    },
  });
});
afterAll(async () => h?.close());

it('a mail the server took is recorded by the retry, never sent twice', async () => {
  armed = true;
  const res = await h.api('POST', '/api/v1/invitations', { username: 'gap', email: 'gap@example.com', userType: 'member' });
  expect(res.status).toBe(201);
  const logged = await eventually(async () => {
    const row = await h.db.selectFrom('emails').select(['status', 'message_id']).where('to_address', '=', 'gap@example.com').executeTakeFirst().catch(() => undefined);
    return row?.status === 'sent' && row;
  }, 60_000, 'the log to say sent');
  expect(logged.message_id).toBeTruthy();
  // Long enough for a second copy to have arrived, had the retry sent one.
  await new Promise((r) => setTimeout(r, 2000));
  expect(h.mail.messages().filter((m) => m.to.includes('gap@example.com'))).toHaveLength(1);
});
