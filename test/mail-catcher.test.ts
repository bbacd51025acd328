import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { createTransport } from 'nodemailer';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';

let catcher: MailCatcher | undefined;
afterEach(async () => {
  await catcher?.close();
  catcher = undefined;
});

function transportTo(c: MailCatcher) {
  return createTransport({ host: '127.0.0.1', port: c.smtpPort, secure: false, ignoreTLS: true });
}

const link = 'http://localhost:3000/invitations/accept?a=1&lang=de#token=AbC-_123';

describe('mail catcher', () => {
  it('catches a mail sent over SMTP with subject, recipients, html and text', async () => {
    catcher = await startMailCatcher({ smtpPort: 0, httpPort: 0 });
    expect(catcher.smtpUrl).toBe(`smtp://127.0.0.1:${catcher.smtpPort}`);

    const waiting = catcher.waitFor((m) => m.to.includes('erika@example.test'));
    await transportTo(catcher).sendMail({
      from: 'Plattform <noreply@example.test>',
      to: 'erika@example.test',
      subject: 'Ihre Einladung zu Büro & Co',
      html: `<p>Hallo <b>Erika</b></p><a href="${link.replaceAll('&', '&amp;')}">Passwort festlegen</a>`,
      text: `Hallo Erika\n${link}`,
    });
    const mail = await waiting;

    expect(mail.subject).toBe('Ihre Einladung zu Büro & Co');
    expect(mail.from).toBe('noreply@example.test');
    expect(mail.to).toEqual(['erika@example.test']);
    expect(mail.html).toContain('<b>Erika</b>');
    expect(mail.html).toContain(link.replaceAll('&', '&amp;'));
    expect(mail.text).toContain(link);
    expect(mail.headers['subject']).toBe('Ihre Einladung zu Büro & Co');
    expect(catcher.messages().map((m) => m.id)).toEqual([mail.id]);
  });

  it('shows caught mail in the web inbox, escaped, and serves the message page without scripts', async () => {
    catcher = await startMailCatcher({ smtpPort: 0, httpPort: 0 });
    await transportTo(catcher).sendMail({
      from: 'noreply@example.test',
      to: 'max@example.test',
      subject: '<i>Reset</i> & more',
      html: '<p onclick="x()">Body "quoted"</p><script>alert(1)</script>',
      text: 'plain <text>',
    });
    const mail = await catcher.waitFor(() => true);

    const inbox = await fetch(catcher.inboxUrl!);
    expect(inbox.headers.get('content-security-policy')).toContain("default-src 'none'");
    const list = await inbox.text();
    expect(list).toContain('&lt;i&gt;Reset&lt;/i&gt; &amp; more');
    expect(list).not.toContain('<i>Reset</i>');
    expect(list).toContain(`/messages/${mail.id}`);

    const detail = await (await fetch(new URL(`/messages/${mail.id}`, catcher.inboxUrl))).text();
    expect(detail).toContain('<iframe sandbox srcdoc="');
    expect(detail).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(detail).toContain('Body &quot;quoted&quot;');
    expect(detail).not.toContain('<script>');
    expect(detail).toContain('<pre>plain &lt;text&gt;</pre>');

    const api = (await (await fetch(new URL('/api/messages', catcher.inboxUrl))).json()) as { id: string }[];
    expect(api.map((m) => m.id)).toEqual([mail.id]);
    expect((await fetch(new URL('/api/messages', catcher.inboxUrl), { method: 'DELETE' })).status).toBe(204);
    expect(catcher.messages()).toEqual([]);
  });

  it('lists the newest mail first and waitFor finds mail that already arrived', async () => {
    catcher = await startMailCatcher({ smtpPort: 0 });
    expect(catcher.inboxUrl).toBeUndefined();
    const transport = transportTo(catcher);
    for (const subject of ['first', 'second']) {
      await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', subject, text: subject });
    }
    expect((await catcher.waitFor((m) => m.subject === 'first')).subject).toBe('first');
    expect(catcher.messages().map((m) => m.subject)).toEqual(['second', 'first']);
    catcher.clear();
    await expect(catcher.waitFor(() => true, 100)).rejects.toThrow(/No matching mail/);
  });

  it.each([
    [550, 'Mailbox unavailable'],
    [451, 'Try again later'],
  ])('a server reply of %i makes sendMail fail with that code and stores nothing', async (code, message) => {
    const seen: { from: string; to: string[] }[] = [];
    catcher = await startMailCatcher({
      smtpPort: 0,
      reply: (envelope) => {
        seen.push(envelope);
        return envelope.to.includes('refused@example.test') ? { code, message } : undefined;
      },
    });
    const transport = transportTo(catcher);

    const failure = transport.sendMail({ from: 'a@example.test', to: 'refused@example.test', subject: 'x', text: 'x' });
    await expect(failure).rejects.toMatchObject({ responseCode: code });
    await expect(failure).rejects.toThrow(message);
    expect(seen).toEqual([{ from: 'a@example.test', to: ['refused@example.test'] }]);
    expect(catcher.messages()).toEqual([]);

    await transport.sendMail({ from: 'a@example.test', to: 'ok@example.test', subject: 'y', text: 'y' });
    expect(catcher.messages().map((m) => m.to)).toEqual([['ok@example.test']]);
  });
});

describe('mail catcher: a hung server', () => {
  it('takes the connection and never greets, so a client with a greeting timeout gives up; later connections are served', async () => {
    let hangs = 1;
    catcher = await startMailCatcher({ smtpPort: 0, hang: () => hangs-- > 0 });
    const transport = createTransport({ host: '127.0.0.1', port: catcher.smtpPort, secure: false, ignoreTLS: true, greetingTimeout: 300 });
    await expect(transport.sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'x', text: 'x' })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(catcher.messages()).toEqual([]);
    await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'y', text: 'y' });
    expect(catcher.messages().map((m) => m.subject)).toEqual(['y']);
  });
});

describe('mail catcher with a store file (npm start)', () => {
  it('keeps its mails across a restart, and forgets them when cleared', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'catcher-'));
    try {
      const storeFile = path.join(dir, 'data', 'mail-catcher.json');
      catcher = await startMailCatcher({ smtpPort: 0, httpPort: 0, storeFile });
      const waiting = catcher.waitFor((m) => m.to.includes('kept@example.test'));
      await transportTo(catcher).sendMail({ from: 'noreply@example.test', to: 'kept@example.test', subject: 'Kept', text: link });
      const mail = await waiting;
      await catcher.close();

      catcher = await startMailCatcher({ smtpPort: 0, httpPort: 0, storeFile });
      expect(catcher.messages()).toEqual([mail]);
      const listed = (await (await fetch(`${catcher.inboxUrl}api/messages`)).json()) as Array<{ id: string }>;
      expect(listed.map((m) => m.id)).toEqual([mail.id]);
      expect((await fetch(`${catcher.inboxUrl}api/messages`, { method: 'DELETE' })).status).toBe(204);
      expect(JSON.parse(readFileSync(storeFile, 'utf8'))).toEqual([]);
      await catcher.close();
      catcher = await startMailCatcher({ smtpPort: 0, httpPort: null, storeFile });
      expect(catcher.messages()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
