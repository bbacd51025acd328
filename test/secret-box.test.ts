import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkSecretBoxKeys, KeyCheckError } from '../src/mail/sealed-values.js';
import { createSecretBox, parseKeys, secretBoxKeyId } from '../src/mail/secret-box.js';
import { sealedValuesUnopenable } from '../src/metrics.js';
import type { ActivityDeps } from '../src/activities/index.js';
import { createInvitationReminderActivities } from '../src/activities/invitation-reminder.js';
import { cloneDatabase, eventually, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/** Sealed by secret-box.ts before key ids (v1), with OLD_KEY: old rows must keep opening. */
const OLD_KEY = '3b8f2a6c1d9e4f7a0b5c8d2e6f1a4b7c9d0e3f6a2b5c8d1e4f7a0b3c6d9e2f5a';
const SEALED_BEFORE_KEY_IDS = 'v1._Aa-v7r8crvUFYYR.FFQZMgH1uPUGNX-_Bt7KVw.oeijMpjY22QW-KwYr5Mv6T3pVmd1uTZw7zAmbmrwvht49rJkkC42';

const hexKey = () => randomBytes(32).toString('hex');

describe('EMAIL_ENCRYPTION_KEY as a key list', () => {
  it('a value sealed with A opens after rotation to "B,A"; new values are sealed with B and name it', () => {
    const [a, b] = [hexKey(), hexKey()];
    const sealedWithA = createSecretBox(parseKeys(a)).seal('https://x.test/accept#a');
    const rotated = createSecretBox(parseKeys(`${b},${a}`));
    expect(rotated.open(sealedWithA)).toBe('https://x.test/accept#a');
    const sealedWithB = rotated.seal('https://x.test/accept#b');
    expect(sealedWithB.split('.').slice(0, 2)).toEqual(['v2', secretBoxKeyId(parseKeys(b)[0]!)]);
    expect(createSecretBox(parseKeys(b)).open(sealedWithB)).toBe('https://x.test/accept#b');
    expect(() => createSecretBox(parseKeys(a)).open(sealedWithB)).toThrow(/key id ".{8}", which EMAIL_ENCRYPTION_KEY does not list/);
  });

  it('values sealed before key ids open with any listed key, and with no other', () => {
    expect(createSecretBox(parseKeys(`${hexKey()}, ${OLD_KEY}`)).open(SEALED_BEFORE_KEY_IDS)).toBe('https://invite.example/accept#old-token');
    expect(createSecretBox(parseKeys(OLD_KEY)).open(SEALED_BEFORE_KEY_IDS)).toBe('https://invite.example/accept#old-token');
    expect(() => createSecretBox(parseKeys(hexKey())).open(SEALED_BEFORE_KEY_IDS)).toThrow(/no key of EMAIL_ENCRYPTION_KEY opens/);
  });

  it("today's single key (hex or base64) is read unchanged; a short one is named", () => {
    const key = randomBytes(32);
    expect(parseKeys(key.toString('base64'))).toEqual([key]);
    expect(parseKeys(key.toString('hex'))).toEqual([key]);
    expect(() => parseKeys(`${hexKey()},c2hvcnQ=`)).toThrow('EMAIL_ENCRYPTION_KEY (key 2) must be 32 bytes');
  });
});

describe('a wrong EMAIL_ENCRYPTION_KEY', () => {
  let h: Harness;
  let greylist = false;
  beforeAll(async () => {
    h = await startHarness({
      webhooks: true,
      config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL: '200ms', WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms', WEBHOOK_RETRY_MAX_INTERVAL: '300ms' },
      mail: { reply: ({ to }) => (greylist && to.includes('sealed.sam@example.com') ? { code: 451, message: 'try later' } : undefined) } });
  });
  afterAll(async () => h?.close());

  it('is refused at start: keys that cannot open the newest sealed values, or a first key no process listed before', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'keyed.kim', email: 'keyed.kim@example.com', userType: 'member', locale: 'en' });
    expect(res.status).toBe(201);
    await eventually(async () => (await h.db.selectFrom('emails').select('id').where('link_ciphertext', 'is not', null).executeTakeFirst()) ?? false);
    const right = createSecretBox(parseKeys(h.config.EMAIL_ENCRYPTION_KEY!));
    await expect(checkSecretBoxKeys(h.db, right)).resolves.toBeUndefined();
    const current = h.config.EMAIL_ENCRYPTION_KEY!;
    // A first key no process listed before (a typo beside the right key) never gets to seal.
    await expect(checkSecretBoxKeys(h.db, createSecretBox(parseKeys(`${hexKey()},${current}`)))).rejects.toThrow(/^EMAIL_ENCRYPTION_KEY: its first key \(id .{8}\) would seal, but no process has listed it yet/);
    // Rotation: listed second first ("A,B"), then first ("B,A").
    const next = hexKey();
    await expect(checkSecretBoxKeys(h.db, createSecretBox(parseKeys(`${current},${next}`)))).resolves.toBeUndefined();
    await expect(checkSecretBoxKeys(h.db, createSecretBox(parseKeys(`${next},${current}`)))).resolves.toBeUndefined();
    const wrong = checkSecretBoxKeys(h.db, createSecretBox(parseKeys(hexKey())));
    await expect(wrong).rejects.toBeInstanceOf(KeyCheckError);
    await expect(wrong).rejects.toThrow(/^EMAIL_ENCRYPTION_KEY does not open the newest logged link/);
  }, 30_000);

  it('a link no key opens shows in the email log (with a future next attempt) and in the metric', async () => {
    const before = (await sealedValuesUnopenable.get()).values.find((v) => v.labels.what === 'email_link')?.value ?? 0;
    greylist = true;
    const res = await h.api('POST', '/api/v1/invitations', { username: 'sealed.sam', email: 'sealed.sam@example.com', userType: 'member', locale: 'en' });
    const userId = res.body.user.id as string;
    const mail = await eventually(async () => (await h.db.selectFrom('emails').selectAll().where('user_id', '=', userId).where('status', '=', 'retrying').executeTakeFirst()) ?? false, 20_000, 'retrying');
    greylist = false;
    // As if sealed by a worker whose key no one else has.
    await h.db.updateTable('emails').set({ link_ciphertext: createSecretBox(parseKeys(hexKey())).seal('https://x.test/lost') }).where('id', '=', mail.id).execute();
    const reported = await eventually(async () => {
      const row = await h.db.selectFrom('emails').selectAll().where('id', '=', mail.id).executeTakeFirstOrThrow();
      return row.error?.includes('cannot open the sealed link') ? row : false;
    }, 40_000, 'the unopenable link reported');
    expect(reported.status).toBe('retrying');
    expect(reported.error).toMatch(/EMAIL_ENCRYPTION_KEY/);
    expect(reported.next_attempt_at!.getTime()).toBeGreaterThan(Date.now());
    const after = (await sealedValuesUnopenable.get()).values.find((v) => v.labels.what === 'email_link')?.value ?? 0;
    expect(after).toBeGreaterThan(before);
  }, 60_000);

  it('a reminder whose invitation link no key opens says why and is counted, like the mail step', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'remind.rob', email: 'remind.rob@example.com', userType: 'member', locale: 'en' });
    expect(res.status).toBe(201);
    const invitationId = res.body.invitation.id as string;
    await h.mail.waitFor((m) => m.to.includes('remind.rob@example.com'));
    const before = (await sealedValuesUnopenable.get()).values.find((v) => v.labels.what === 'email_link')?.value ?? 0;
    // A worker whose keys cannot open the link the invitation mail was sealed with.
    const stranger = createInvitationReminderActivities({ db: h.db, secretBox: createSecretBox(parseKeys(hexKey())), config: h.config } as unknown as ActivityDeps);
    await expect(stranger.prepareInvitationReminder({ invitationId })).rejects.toThrow(/cannot open the sealed link.*EMAIL_ENCRYPTION_KEY/);
    const after = (await sealedValuesUnopenable.get()).values.find((v) => v.labels.what === 'email_link')?.value ?? 0;
    expect(after).toBe(before + 1);
  });

  it('a webhook secret no key opens shows as the error of its delivery, and nothing unsigned is sent', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const endpoint = (await h.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['user.invited'], description: 'lost secret' })).body as { id: string };
      await h.db.updateTable('webhook_endpoints').set({ secret_ciphertext: createSecretBox(parseKeys(hexKey())).seal('whsec_lost') }).where('id', '=', endpoint.id).execute();
      const res = await h.api('POST', '/api/v1/invitations', { username: 'hooked.hal', email: 'hooked.hal@example.com', userType: 'member', locale: 'en' });
      const userId = res.body.user.id as string;
      const delivery = await eventually(async () => {
        const row = await h.db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpoint.id).where('user_id', '=', userId).executeTakeFirst();
        return row?.last_error ? row : false;
      }, 20_000, 'the delivery error');
      expect(delivery.last_error).toMatch(/cannot open the sealed endpoint secret: .*EMAIL_ENCRYPTION_KEY/);
      expect(receiver.received).toHaveLength(0);
      expect((await sealedValuesUnopenable.get()).values.find((v) => v.labels.what === 'webhook_secret')?.value).toBeGreaterThan(0);
    } finally {
      await receiver.close();
    }
  }, 40_000);
});

describe('worker.ts with a wrong EMAIL_ENCRYPTION_KEY', () => {
  it('exits with one line naming the setting, no stack trace, before it polls', async () => {
    const database = await cloneDatabase();
    try {
      const key = hexKey();
      await database.handle.db
        .insertInto('webhook_endpoints')
        .values({ id: randomUUID(), url: 'https://hooks.example.test/in', description: null, event_types: ['user.invited'], secret_ciphertext: createSecretBox(parseKeys(key)).seal('whsec_x'), failing_since: null, disabled_at: null, disabled_reason: null, updated_at: new Date(), created_by: null })
        .execute();
      const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
        env: { ...process.env, DATABASE_URL: database.url, TEMPORAL_ADDRESS: inject('temporalAddress'), SMTP_URL: 'smtp://127.0.0.1:1', EMAIL_ENCRYPTION_KEY: hexKey(), TEMPORAL_PAYLOAD_KEYS: `k:${hexKey()}`, TEMPORAL_TASK_QUEUE: `wrong-key-${randomBytes(4).toString('hex')}`, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      // A worker that starts anyway would poll for good: it is stopped here, and the test fails.
      const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(stop);
      expect(code, output).toBe(1);
      expect(output).toMatch(/EMAIL_ENCRYPTION_KEY does not open the newest webhook secret in the database/);
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      await database.drop();
    }
  }, 60_000);
});
