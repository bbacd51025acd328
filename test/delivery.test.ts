import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRetryDelayMs } from '../src/activities/email.js';
import { loadConfig } from '../src/config.js';
import { startMailCatcher } from '../src/dev/mail-catcher.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { eventually, startHarness, type Harness } from './support/harness.js';

/**
 * Delivery status as the mail server said it (R13), at a real SMTP server that can be told
 * to answer 451 or 550 or to hang. The greeting timeout is 1 s here so a hang ends quickly.
 */
let h: Harness;
let answer: ((to: string[]) => { code: number; message: string } | undefined) | undefined;
let hangs = 0;
beforeAll(async () => {
  h = await startHarness({
    config: { SMTP_GREETING_TIMEOUT: '1s' },
    mail: { reply: ({ to }) => answer?.(to), hang: () => hangs-- > 0 },
  });
});
afterAll(async () => h?.close());

async function invite(username: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  return res.body.user.id as string;
}

const logged = (userId: string, until: (mail: any) => boolean, what: string) =>
  eventually(async () => {
    const [mail] = (await h.api('GET', `/api/v1/emails?userId=${userId}`)).body.items;
    return mail && until(mail) && (await h.api('GET', `/api/v1/emails/${mail.id}`)).body;
  }, 40_000, what);

describe('delivery status as the mail server said it', () => {
  it('451 then 250: retrying with the next try visible, then one sent mail with attempts 2, its answer and Message-ID', async () => {
    let refusals = 0;
    answer = (to) => (to.includes('grey.gus@example.com') && refusals++ === 0 ? { code: 451, message: 'greylisted, try later' } : undefined);
    try {
      const userId = await invite('grey.gus');
      const retrying = await logged(userId, (m) => m.status === 'retrying', 'retrying');
      expect(retrying).toMatchObject({ attempts: 1, error: expect.stringMatching(/^451 /), sentAt: null });
      const due = Date.parse(retrying.nextAttemptAt) - Date.parse(retrying.lastAttemptAt);
      expect(due).toBeGreaterThanOrEqual(9_000); // the workflow's initial interval, 10 s
      expect((await h.api('GET', `/api/v1/users/${userId}`)).body.invitationEmail).toMatchObject({ status: 'retrying', attempts: 1 });

      const sent = await logged(userId, (m) => m.status === 'sent', 'sent');
      expect(sent).toMatchObject({ attempts: 2, error: null, nextAttemptAt: null, messageId: `<${sent.id}@invitations.local>` });
      expect(sent.smtpResponse).toMatch(/^250 /);
      expect(h.mail.messages().filter((m) => m.to.includes('grey.gus@example.com'))).toHaveLength(1);
      expect((await h.api('GET', `/api/v1/users/${userId}`)).body.invitationEmail).toMatchObject({ status: 'sent', attempts: 2 });
    } finally {
      answer = undefined;
    }
  }, 60_000);

  it('550: failed at once, with the server’s reason', async () => {
    answer = (to) => (to.includes('bounce.bea@example.com') ? { code: 550, message: 'mailbox unavailable' } : undefined);
    try {
      const userId = await invite('bounce.bea');
      const failed = await logged(userId, (m) => m.status === 'failed', 'failed');
      expect(failed).toMatchObject({ attempts: 1, nextAttemptAt: null, sentAt: null, error: expect.stringMatching(/^550 .*mailbox unavailable/) });
    } finally {
      answer = undefined;
    }
  });

  it('a server that never answers: the attempt times out, is logged as retrying, and the retry delivers', async () => {
    hangs = 1;
    const userId = await invite('hung.hal');
    const retrying = await logged(userId, (m) => m.status === 'retrying', 'retrying after the hang');
    expect(retrying).toMatchObject({ attempts: 1, error: expect.stringMatching(/greeting/i) });
    expect(retrying.nextAttemptAt).not.toBeNull();
    const sent = await logged(userId, (m) => m.status === 'sent', 'sent after the retry');
    expect(sent.attempts).toBe(2);
  }, 60_000);
});

describe('retry bookkeeping', () => {
  const policy = { initialInterval: 10_000, backoffCoefficient: 2, maximumInterval: 900_000 };
  const base = { scheduledTimestampMs: 0, scheduleToCloseTimeoutMs: 86_400_000, retryPolicy: policy };

  it('follows Temporal’s backoff, capped at the maximum interval', () => {
    expect([1, 2, 3, 10].map((attempt) => nextRetryDelayMs({ ...base, attempt }, 0))).toEqual([10_000, 20_000, 40_000, 900_000]);
  });

  it('says the retries ran out when the next try would fall past schedule-to-close or the last attempt', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 5 }, 86_400_000 - 60_000)).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, attempt: 3, retryPolicy: { ...policy, maximumAttempts: 3 } }, 0)).toBeUndefined();
  });

  it('SMTP timeouts are configurable and, together, end before the mail activity times out', () => {
    expect(loadConfig({})).toMatchObject({ SMTP_CONNECTION_TIMEOUT: 10_000, SMTP_GREETING_TIMEOUT: 10_000, SMTP_SOCKET_TIMEOUT: 30_000 });
    expect(() => loadConfig({ SMTP_SOCKET_TIMEOUT: '2 minutes' })).toThrow(/at most 90 s/);
  });

  // The bound is the test's own timeout: nodemailer's default greeting wait is 30 s.
  it('the mailer applies the configured greeting timeout to a server that never greets', async () => {
    const hung = await startMailCatcher({ smtpPort: 0, hang: () => true });
    const mailer = createSmtpMailer(hung.smtpUrl, { SMTP_CONNECTION_TIMEOUT: 1000, SMTP_GREETING_TIMEOUT: 300, SMTP_SOCKET_TIMEOUT: 1000 });
    try {
      const sending = mailer.send({ from: 'a@example.test', to: 'b@example.test', subject: 'x', html: 'x', text: 'x', messageId: '<x@example.test>' });
      await expect(sending).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      mailer.close();
      await hung.close();
    }
  }, 8_000);
});
