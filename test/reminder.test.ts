import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { saveTemplate } from '../src/email-templates/template.service.js';
import { acceptInvitation, revokeInvitationById } from '../src/invitations/invitation.service.js';
import { stateQuery } from '../src/workflows/invitation.messages.js';
import { linkFrom } from './support/harness.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';

/**
 * INVITATION_REMINDER (default 3 days) on Temporal's time-skipping test server: the real
 * 28-day lifetime, real activities against Postgres and a real SMTP server.
 */
let s: TimeSkippingService;
const DAY = 86_400_000;
beforeAll(async () => {
  s = await startTimeSkippingService();
});
afterAll(async () => s?.close());

const reminderRows = (invitationId: string) =>
  s.db.selectFrom('emails').selectAll().where('invitation_id', '=', invitationId).where('type', '=', 'invitation_reminder').execute();
const mailsTo = (email: string) => s.mail.messages().filter((m) => m.to.includes(email));

describe('the reminder before an invitation lapses', () => {
  it('goes out once, three days before the deadline, through its own template and with the link of the invitation', async () => {
    const saved = await saveTemplate(s.deps, 'invitation_reminder', 'en', {
      subject: 'Only a few days left at {{productName}}',
      body: '<p>{{username}}, your link <a href="{{invitationLink}}">still works</a> until {{expiresAt}}.</p>',
    }, { name: 'staff:test', key: 'bootstrap' });
    const { input, handle, link } = await s.invite('reminded.rita');

    await s.env.sleep(25 * DAY - 60_000);
    expect((await handle.query(stateQuery)).reminder).toBe('scheduled');
    expect(mailsTo(input.email)).toHaveLength(1); // only the invitation so far

    await s.env.sleep(2 * 60_000);
    const reminder = await s.mail.waitFor((m) => m.to.includes(input.email) && m.subject.startsWith('Only a few days'), 15_000);
    expect(reminder.subject).toBe('Only a few days left at Platform');
    expect(reminder.text).toContain('reminded.rita, your link still works');
    expect(linkFrom(reminder.text)).toEqual(link); // the same link: nothing new was minted
    const state = await handle.query(stateQuery);
    expect(state).toMatchObject({ phase: 'waiting', outcome: null });
    expect((await s.userRow(input.userId)).status).toBe('invited');

    const [row] = await reminderRows(input.invitationId);
    expect(row).toMatchObject({ status: 'sent', to_address: input.email, template_version: saved.version, user_id: input.userId });
    expect(JSON.stringify(row)).not.toContain(link.token);

    // The reminded link is the working one.
    expect((await acceptInvitation(s.deps, link.token, 'a perfectly fine passphrase')).status).toBe('active');
    expect(await handle.result()).toMatchObject({ outcome: 'accepted', reminder: 'sent', reminderEmailId: row!.id });
    expect(await reminderRows(input.invitationId)).toHaveLength(1);
    expect(mailsTo(input.email)).toHaveLength(2);
  });

  it('is not sent after an accept', async () => {
    const { input, handle, link } = await s.invite('quick.quentin');
    await s.env.sleep(DAY);
    await acceptInvitation(s.deps, link.token, 'a perfectly fine passphrase');
    expect(await handle.result()).toMatchObject({ outcome: 'accepted', reminder: 'skipped', reminderEmailId: null });
    await s.env.sleep(30 * DAY);
    expect(await reminderRows(input.invitationId)).toEqual([]);
    expect(mailsTo(input.email)).toHaveLength(1);
  });

  it('is not sent after a revoke', async () => {
    const { input, handle } = await s.invite('revoked.rolf');
    await s.env.sleep(DAY);
    await revokeInvitationById(s.deps, input.invitationId, { name: 'staff:test', key: 'bootstrap' });
    expect(await handle.result()).toMatchObject({ outcome: 'revoked', reminder: 'skipped', reminderEmailId: null });
    await s.env.sleep(30 * DAY);
    expect(await reminderRows(input.invitationId)).toEqual([]);
    expect(mailsTo(input.email)).toHaveLength(1);
  });

  it('is not sent when switched off, nor when the lifetime is shorter than the offset', async () => {
    const off = await s.invite('no.reminder', { reminderMs: null });
    expect(await off.handle.result()).toMatchObject({ outcome: 'expired', reminder: 'off', reminderAt: null });
    const short = await s.invite('short.lived', { ttlMs: 2 * DAY });
    expect(await short.handle.result()).toMatchObject({ outcome: 'expired', reminder: 'off', reminderAt: null });
    for (const { input } of [off, short]) {
      expect(await reminderRows(input.invitationId)).toEqual([]);
      expect(mailsTo(input.email)).toHaveLength(1);
    }
  });
});

describe('INVITATION_REMINDER', () => {
  it('is 3 days by default, a duration, or off; anything else is refused at start', () => {
    expect(loadConfig({}).INVITATION_REMINDER).toBe(3 * DAY);
    expect(loadConfig({ INVITATION_REMINDER: '1 day 12 hours' }).INVITATION_REMINDER).toBe(1.5 * DAY);
    expect(loadConfig({ INVITATION_REMINDER: 'off' }).INVITATION_REMINDER).toBeNull();
    expect(() => loadConfig({ INVITATION_REMINDER: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig({ INVITATION_REMINDER: '0s' })).toThrow(/INVITATION_REMINDER/);
  });
});
