import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalUsername, skeletonOfUsernameKey } from '../src/users/identity.js';
import { createApp } from '../src/api/app.js';
import { launchChromium, localContext } from './support/browser.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * The staff console (issue 16) in Chromium: the seed's flows in German and English, who may
 * sign in, cross-site posts, session ends, and axe-core on every page it shows.
 */
let h: Harness;
let base: string;
let browser: Browser;
let context: BrowserContext | undefined;
let foreignRequests: string[] = [];
const PASSWORD = 'staff console passphrase';

/** Every test's own signed-up users, made at once up front (each waits for its mail). */
const STAFF = ['greta.staff', 'oliver.staff', 'bea.staff', 'rita.staff', 'tom.staff', 'cora.staff', 'cross.staff', 'site.staff', 'ida.staff', 'otto.staff', 'lost.staff', 'gone.staff', 'pw.staff', 'paula.staff'];
let users: Record<string, { id: string; username: string; email: string }>;
let deliveries: Promise<void> = Promise.resolve();

beforeAll(async () => {
  // Deliveries can be held for a moment, to watch a mail's window follow it from queued to sent.
  const held = (activities: Record<string, (...args: any[]) => Promise<unknown>>) => ({
    ...activities,
    deliverEmail: async (...args: unknown[]) => {
      await deliveries;
      return activities.deliverEmail!(...args);
    },
  });
  [h, browser] = await Promise.all([startHarness({ wrapActivities: held as never }), launchChromium()]);
  base = await h.listen();
  const made = await Promise.all([...STAFF.map((name) => activeUser(name)), activeUser('max.member', { isStaff: false })]);
  users = Object.fromEntries(made.map((u) => [u.username, u]));
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});
afterEach(async () => {
  // Only the service's own origin: no CDN, no font, nothing third-party (CSP and localContext).
  expect(foreignRequests).toEqual([]);
  await context?.close();
  context = undefined;
});

/** Someone invited through the API who accepted with PASSWORD: an active user. */
async function activeUser(username: string, options: { isStaff?: boolean } = {}) {
  const email = `${username}@example.com`;
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', isStaff: options.isStaff ?? true, locale: 'en' });
  expect(res.status).toBe(201);
  const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes(email))).text);
  expect((await h.api('POST', '/api/v1/public/invitations/accept', { token, password: PASSWORD }, { authorization: '' })).status).toBe(200);
  return res.body.user as { id: string; username: string; email: string };
}

async function newPage(locale: string): Promise<Page> {
  ({ context, foreignRequests } = await localContext(browser, { locale }));
  return context.newPage();
}

async function axe(page: Page) {
  const result = await new AxeBuilder({ page: page as never }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function signIn(page: Page, login: string, labels: { login: string; password: string; submit: string }) {
  await page.goto(`${base}/console`);
  await page.getByLabel(labels.login, { exact: true }).fill(login);
  await page.getByLabel(labels.password, { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: labels.submit }).click();
}

const mailsTo = (address: string) => h.mail.messages().filter((m) => m.to.includes(address));

describe('the seed’s flow in the console, in German', () => {
  it('sign in → Übersicht → Einladen → the mail arrives → eingeladen → E-Mail > Logs > Info > Erneut senden → a copy with the same link', async () => {
    const page = await newPage('de-DE');
    await page.goto(`${base}/console`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Anmeldung');
    expect(await axe(page)).toEqual([]);
    await signIn(page, 'greta.staff', { login: 'Benutzername oder E-Mail-Adresse', password: 'Passwort', submit: 'Anmelden' });

    // "Nutzer" > "Übersicht"
    const menu = page.getByRole('navigation', { name: 'Hauptmenü' });
    await expect(menu.getByText('Nutzer', { exact: true }).isVisible()).resolves.toBe(true);
    await menu.getByRole('link', { name: 'Übersicht', exact: true }).click();
    await page.getByRole('heading', { name: 'Nutzerübersicht' }).waitFor();
    expect(await axe(page)).toEqual([]);

    // "Einladen": the form with its labels and the seed's note on usernames.
    await page.getByRole('link', { name: 'Einladen', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Nutzer einladen' }).waitFor();
    await expect(page.getByText('Der Benutzername kann nach der Registrierung nicht vom Nutzer selbst geändert werden.', { exact: false }).isVisible()).resolves.toBe(true);
    expect(await axe(page)).toEqual([]);
    // A bad address and a taken name: errors next to their fields, in German.
    await page.getByLabel('Benutzername', { exact: true }).fill('hanna.neu');
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('not-an-address');
    await page.getByRole('button', { name: 'Einladung verschicken' }).click();
    await page.getByText('Das ist keine gültige E-Mail-Adresse.').waitFor();
    expect(await page.getByLabel('E-Mail-Adresse', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await axe(page)).toEqual([]);
    await page.getByLabel('Benutzername', { exact: true }).fill('greta.staff');
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('greta.other@example.com');
    await page.getByRole('button', { name: 'Einladung verschicken' }).click();
    await page.getByText('Dieser Benutzername ist bereits vergeben.').waitFor();
    // A look-alike (Cyrillic "а") is refused as such.
    await page.getByLabel('Benutzername', { exact: true }).fill('gret\u0430.staff');
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('lookalike@example.com');
    await page.getByRole('button', { name: 'Einladung verschicken' }).click();
    await page.getByText('Dieser Benutzername sieht aus wie ein bereits vergebener.').waitFor();

    await page.getByLabel('Benutzername', { exact: true }).fill('hanna.neu');
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('hanna.neu@example.com');
    await page.getByLabel('Nutzertyp', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Einladung verschicken' }).click();

    // The new invitee is in the overview at once, as "eingeladen".
    await page.getByText('hanna.neu wurde eingeladen.').waitFor();
    const row = page.getByRole('row').filter({ hasText: 'hanna.neu@example.com' });
    expect(await row.getByText('eingeladen', { exact: true }).isVisible()).toBe(true);
    const original = await h.mail.waitFor((m) => m.to.includes('hanna.neu@example.com'));
    const link = linkFrom(original.text);

    // "E-Mail" > "Logs" > "Info" > "Erneut senden"
    await menu.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByRole('heading', { name: 'E-Mail-Logs' }).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByRole('row').filter({ hasText: 'hanna.neu@example.com' }).getByRole('link', { name: /^Info/ }).click();
    await page.getByRole('heading', { name: 'E-Mail-Info' }).waitFor();
    await page.getByText('Bitte beachten Sie, dass es sich hier lediglich um eine Kopie der E-Mail handelt.').waitFor();
    await page.locator('#mail-status', { hasText: 'versendet' }).waitFor();
    // The body with the link as a placeholder, never the token.
    const body = await page.locator('.mail-body').textContent();
    expect(body).toContain('{{personal_link}}');
    expect(body).not.toContain(link.token);
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Erneut senden' }).click();
    await page.getByText('Eine Kopie wurde in Auftrag gegeben.').waitFor();
    // The result shows without a reload by hand: the page follows the copy until it is sent.
    await page.locator('#mail-status', { hasText: 'versendet' }).waitFor();
    await eventually(async () => mailsTo('hanna.neu@example.com').length === 2, 15_000, 'the copy');
    expect(mailsTo('hanna.neu@example.com').map((m) => linkFrom(m.text).token)).toEqual([link.token, link.token]);

    // Everything was done as greta.staff, through her console session.
    const trail = await h.api('GET', '/api/v1/audit-events?actor=greta.staff');
    const actions = (trail.body.items as Array<{ action: string; via: string | null }>).map((e) => `${e.action}:${e.via}`);
    expect(actions).toEqual(expect.arrayContaining(['user.invited:console', 'email.resent:console', 'user.login:console']));
  });
});

describe('the same flow’s key steps in English', () => {
  it('sign in → Invite → Send invitation → invited → Email > Logs > Info > Send again', async () => {
    const page = await newPage('en-GB');
    await signIn(page, 'oliver.staff@example.com', { login: 'Username or email address', password: 'Password', submit: 'Sign in' });
    const menu = page.getByRole('navigation', { name: 'Main menu' });
    await menu.getByRole('link', { name: 'Overview', exact: true }).waitFor();
    await menu.getByRole('link', { name: 'Invite', exact: true }).click();
    await page.getByLabel('Username', { exact: true }).fill('mia.new');
    await page.getByLabel('Email address', { exact: true }).fill('mia.new@example.com');
    await page.getByLabel('Staff status', { exact: true }).check();
    await page.getByRole('button', { name: 'Send invitation' }).click();
    const row = page.getByRole('row').filter({ hasText: 'mia.new@example.com' });
    await row.getByText('invited', { exact: true }).waitFor();
    expect(await row.getByRole('cell', { name: 'Yes', exact: true }).count()).toBe(1);
    const link = linkFrom((await h.mail.waitFor((m) => m.to.includes('mia.new@example.com'))).text);

    await menu.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByRole('row').filter({ hasText: 'mia.new@example.com' }).getByRole('link', { name: /^Info/ }).click();
    await page.getByText('Please note that this only sends a copy of the email.').waitFor();
    // The copy is held at the mail server's door: the window shows it queued, then sent,
    // without a reload (its script follows the status).
    let release!: () => void;
    deliveries = new Promise((resolve) => (release = resolve));
    await page.getByRole('button', { name: 'Send again' }).click();
    await page.getByText('A copy is on its way.').waitFor();
    expect(await page.locator('#mail-status').textContent()).toBe('queued');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    release();
    deliveries = Promise.resolve();
    await page.locator('#mail-status', { hasText: 'sent' }).waitFor();
    expect(await page.locator('#mail-attempts').textContent()).toBe('1');
    expect(navigations).toBe(0);
    await eventually(async () => mailsTo('mia.new@example.com').length === 2, 15_000, 'the copy');
    expect(linkFrom(mailsTo('mia.new@example.com')[0]!.text).token).toBe(link.token);

    // The language switch: the same page in German.
    await page.getByRole('link', { name: 'Deutsch' }).click();
    await page.getByRole('heading', { name: 'E-Mail-Info' }).waitFor();
  });
});

describe('the Bearbeitungsansicht of one user', () => {
  it('edit an address and see the next steps; overwrite (R11) explained before and after; reactivate with the seed’s warning; delete with a confirmation', async () => {
    const invitee = (await h.api('POST', '/api/v1/invitations', { username: 'karl.falsch', email: 'karl.falsch@example.com', userType: 'member', locale: 'de' })).body.user;
    await h.mail.waitFor((m) => m.to.includes('karl.falsch@example.com'));
    const page = await newPage('de-DE');
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, 'bea.staff', { login: 'Benutzername oder E-Mail-Adresse', password: 'Passwort', submit: 'Anmelden' });
    await page.getByRole('link', { name: 'karl.falsch', exact: true }).click();
    await page.getByRole('heading', { name: 'Bearbeitungsansicht: karl.falsch' }).waitFor();
    // R11 is explained before it happens.
    await page.getByText('Überschreiben: Ändern Sie Benutzername und E-Mail-Adresse', { exact: false }).waitFor();
    expect(await axe(page)).toEqual([]);

    // Only the address: the invitation stays, and the next steps say what to do.
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('karl.richtig@example.com');
    await page.getByRole('button', { name: 'Änderungen speichern' }).click();
    await page.getByRole('heading', { name: 'Nächste Schritte' }).waitFor();
    await page.getByText('Passwort vergessen', { exact: false }).first().waitFor();
    expect((await h.api('GET', `/api/v1/users/${invitee.id}`)).body).toMatchObject({ email: 'karl.richtig@example.com', status: 'invited' });
    expect(await axe(page)).toEqual([]);
    // The mail's window now warns that a copy goes to the old address; sending it is still allowed (R7).
    const mailId = (await h.api('GET', `/api/v1/emails?userId=${invitee.id}`)).body.items[0].id as string;
    const editView = page.url();
    await page.goto(`${base}/console/emails/${mailId}`);
    await page.getByText('Die E-Mail-Adresse des Nutzers wurde zwischenzeitlich geändert (jetzt: karl.richtig@example.com). Die Kopie geht an karl.falsch@example.com', { exact: false }).waitFor();
    expect(await page.getByRole('button', { name: 'Erneut senden' }).isEnabled()).toBe(true);
    await page.goto(editView);

    // Both: an overwrite; the invitation ends, the old name is free again.
    await page.getByLabel('Benutzername', { exact: true }).fill('karl.alt.1');
    await page.getByRole('button', { name: 'Änderungen speichern' }).click();
    await page.getByText('Der Nutzer wurde überschrieben: Die Einladung ist beendet.').waitFor();
    await page.getByText('Der Benutzername karl.falsch und die Adresse', { exact: false }).waitFor();
    expect((await h.api('GET', `/api/v1/users/${invitee.id}`)).body).toMatchObject({ status: 'inactive', deactivationReason: 'overwritten' });

    // Manual reactivation: the seed's warning and the deadline, before and after.
    await page.getByText('Eine manuelle Reaktivierung ist zwar möglich, jedoch nicht empfohlen', { exact: false }).waitFor();
    await page.getByText(/Gilt bis .* \(Europe\/Berlin\), wenn sich der Nutzer bis dahin nicht einloggt\./).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Manuell reaktivieren' }).click();
    await page.getByText(/Der Nutzer ist bis .* aktiv\./).waitFor();
    expect((await h.api('GET', `/api/v1/users/${invitee.id}`)).body.status).toBe('active');

    // The history, newest first: the reactivation above the overwrite, with bea.staff as actor.
    const actions = await page.getByRole('region', { name: 'Verlauf' }).getByRole('row').allTextContents();
    const at = (action: string) => actions.findIndex((row) => row.includes(action));
    expect(at('user.reactivated')).toBeGreaterThan(0);
    expect(at('user.reactivated')).toBeLessThan(at('user.overwritten'));
    expect(actions[at('user.reactivated')]).toContain('bea.staff');

    // Delete: only with the box ticked (and the browser's confirmation).
    await page.getByLabel(/Ich möchte karl.alt.1 endgültig löschen/).check();
    await page.getByRole('button', { name: 'Nutzer löschen' }).click();
    await page.getByText('karl.alt.1 wurde gelöscht.').waitFor();
    expect((await h.api('GET', `/api/v1/users/${invitee.id}`)).status).toBe(404);
  });

  it('a pending invitation is revoked from the edit view, and its workflow is linked in Temporal UI', async () => {
    const invitee = (await h.api('POST', '/api/v1/invitations', { username: 'paul.zurueck', email: 'paul.zurueck@example.com', userType: 'member', locale: 'en' })).body.user;
    const withUi = createApp({ ...h.deps, config: { ...h.config, TEMPORAL_UI_URL: 'http://localhost:8233' } });
    const s = await session(withUi, 'rita.staff');
    const view = await (await consoleRequest(withUi, 'GET', `/console/users/${invitee.id}`, { cookie: s.cookie })).text();
    expect(view).toContain(`http://localhost:8233/namespaces/default/workflows/invitation-${invitee.id}`);
    const revoked = await consoleRequest(withUi, 'POST', `/console/users/${invitee.id}/revoke`, { cookie: s.cookie, form: { _csrf: s.csrf } });
    expect(revoked.status).toBe(303);
    expect((await h.api('GET', `/api/v1/users/${invitee.id}`)).body).toMatchObject({ status: 'inactive', deactivationReason: 'invitation_revoked' });
    // R7 no longer allows a copy: "Send again" is disabled, and the window says why.
    const mail = await eventually(async () => (await h.api('GET', `/api/v1/emails?userId=${invitee.id}`)).body.items[0] as { id: string } | undefined, 15_000, 'the logged mail');
    const info = await (await consoleRequest(withUi, 'GET', `/console/emails/${mail.id}`, { cookie: s.cookie })).text();
    expect(info).toContain('Send again&quot; is not possible: The invitation was revoked.');
    expect(info).toMatch(/<button type="submit" disabled="">Send again<\/button>/);
  });
});

describe('Vorlagen and the audit trail', () => {
  it('a template change with preview, the refusal of a template without its link, save as a version, back to default', async () => {
    const page = await newPage('de-DE');
    await signIn(page, 'tom.staff', { login: 'Benutzername oder E-Mail-Adresse', password: 'Passwort', submit: 'Anmelden' });
    await page.getByRole('navigation', { name: 'Hauptmenü' }).getByRole('link', { name: 'Vorlagen' }).click();
    await page.getByRole('heading', { name: 'Nutzereinladung (de)' }).waitFor();
    await page.getByText('{{invitationLink}}', { exact: true }).waitFor();
    expect(await axe(page)).toEqual([]);

    // Without the link: refused, naming it; the version in force stays.
    await page.getByLabel('Betreff', { exact: true }).fill('Willkommen, {{username}}');
    await page.getByLabel('Inhalt', { exact: true }).fill('<p>Hallo {{username}}, bis bald.</p>');
    await page.getByRole('button', { name: 'Als neue Version speichern' }).click();
    await page.getByText('Der Link {{invitationLink}} fehlt im Inhalt: Er muss in der Vorlage bleiben.').waitFor();
    await page.getByText('Die Vorlage wurde nicht gespeichert; die gültige Version bleibt.').waitFor();
    await page.getByText('Aktuell gültig: Standard').waitFor();
    expect(await axe(page)).toEqual([]);

    // With it: the preview first, then a new version.
    await page.getByLabel('Inhalt', { exact: true }).fill('<p>Hallo {{username}}, hier ist Ihr Zugang: <a href="{{invitationLink}}">Einladung annehmen</a></p>');
    await page.getByRole('button', { name: 'Vorschau' }).click();
    await page.getByRole('heading', { name: 'Vorschau (nicht gespeichert)' }).waitFor();
    await page.getByText('Hallo erika.mustermann, hier ist Ihr Zugang', { exact: false }).waitFor();
    await page.getByText('Aktuell gültig: Standard').waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Als neue Version speichern' }).click();
    await page.getByText('Version 1 gespeichert.').waitFor();
    await page.getByText('Aktuell gültig: Version 1').waitFor();
    expect(await page.getByRole('region', { name: 'Versionen' }).getByRole('row').filter({ hasText: 'tom.staff' }).count()).toBe(1);

    // The next invitation is built from it.
    await h.api('POST', '/api/v1/invitations', { username: 'vera.vorlage', email: 'vera.vorlage@example.com', userType: 'member', locale: 'de' });
    const mail = await h.mail.waitFor((m) => m.to.includes('vera.vorlage@example.com'));
    expect(mail.subject).toBe('Willkommen, vera.vorlage');
    expect(linkFrom(mail.text).token).toBeTruthy();

    await page.getByRole('button', { name: 'Auf Standard zurücksetzen' }).click();
    await page.getByText('Die Standardvorlage gilt wieder.').waitFor();
    await page.getByText('Aktuell gültig: Standard').waitFor();

    // The audit trail names the staff member; filtered by action.
    await page.getByRole('navigation', { name: 'Hauptmenü' }).getByRole('link', { name: 'Audit-Trail' }).click();
    await page.getByLabel('Aktion', { exact: true }).selectOption('email_template.changed');
    await page.getByRole('button', { name: 'Filtern' }).click();
    const rows = page.getByRole('region', { name: 'Audit-Trail' }).getByRole('row');
    await rows.filter({ hasText: 'tom.staff' }).first().waitFor();
    expect(await rows.count()).toBe(2); // the header and the one change
    expect(await axe(page)).toEqual([]);
    // By user: only that user's events.
    await page.goto(`${base}/console/audit?user=vera.vorlage`);
    await rows.filter({ hasText: 'user.invited' }).first().waitFor();
    expect(await rows.filter({ hasText: 'email_template' }).count()).toBe(0);
  });
});

describe('who gets a console', () => {
  it('a member with the right password is refused, and no login of theirs is recorded', async () => {
    const page = await newPage('en-GB');
    await signIn(page, 'max.member', { login: 'Username or email address', password: 'Password', submit: 'Sign in' });
    await page.getByText('Only users with staff status can sign in here.').waitFor();
    expect(await axe(page)).toEqual([]);
    await page.goto(`${base}/console/users`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const trail = await h.api('GET', '/api/v1/audit-events?actor=max.member&action=user.login');
    expect(trail.body.items).toEqual([]);
  });

  it('an invited staff user (no password yet) and a deleted one get no console', async () => {
    const invited = await h.api('POST', '/api/v1/invitations', { username: 'ivy.staff', email: 'ivy.staff@example.com', userType: 'member', isStaff: true });
    expect(invited.status).toBe(201);
    expect((await consoleRequest(h.app, 'POST', '/console/login', { form: { login: 'ivy.staff', password: PASSWORD } })).status).toBe(401);
    const deleted = await activeUser('del.staff');
    expect((await h.api('DELETE', `/api/v1/users/${deleted.id}`)).status).toBe(204);
    expect((await consoleRequest(h.app, 'POST', '/console/login', { form: { login: 'del.staff', password: PASSWORD } })).status).toBe(401);
    // Without a session, the console's front door is the sign-in page.
    const door = await consoleRequest(h.app, 'GET', '/console');
    expect(door.status).toBe(303);
    expect(door.headers.get('location')).toMatch(/^\/console\/login\?/);
    const signInPage = await consoleRequest(h.app, 'GET', door.headers.get('location')!);
    expect(signInPage.status).toBe(200);
    expect(await signInPage.text()).toContain('<h1>Sign in</h1>');
  });

  it('a wrong password is a 401 on the sign-in page, and counts toward the same limit as the public login', async () => {
    const limited = createApp({ ...h.deps, config: { ...h.config, LOGIN_FAILURES_PER_15_MIN: 2 } });
    for (let i = 0; i < 2; i++) {
      const res = await consoleRequest(limited, 'POST', '/console/login', { form: { login: 'cora.staff', password: 'wrong password here' } });
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('The username, email address or password is wrong.');
    }
    // One counter for both doors: the public login now refuses this account from this client too.
    const api = await limited.request('/api/v1/public/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'cora.staff', password: PASSWORD }) });
    expect(api.status).toBe(429);
    const page = await consoleRequest(limited, 'POST', '/console/login', { form: { login: 'cora.staff', password: PASSWORD } });
    expect(page.status).toBe(429);
    expect(await page.text()).toContain('Too many attempts.');
  });

  it('works by keyboard alone, and on a phone-sized screen', async () => {
    const page = await newPage('en-GB');
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${base}/console`);
    const focusUntil = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 25 && !(await check()); i++) await page.keyboard.press('Tab');
      expect(await check()).toBe(true);
    };
    await focusUntil(() => page.evaluate(() => document.activeElement?.id === 'login'));
    await page.keyboard.type('oliver.staff');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'User overview' }).waitFor();
    // Measured once the stylesheet is in: before it, on a busy machine, the bare table is wider.
    await page.waitForLoadState('load');
    // Nothing wider than the screen: the table scrolls inside its own (focusable) box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await axe(page)).toEqual([]);
    await focusUntil(() => page.evaluate(() => document.activeElement?.textContent === 'Invite' && document.activeElement.closest('nav') !== null));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Invite a user' }).waitFor();
    await focusUntil(() => page.evaluate(() => document.activeElement?.id === 'username'));
    await page.keyboard.type('kim.keys');
    await page.keyboard.press('Tab');
    await page.keyboard.type('kim.keys@example.com');
    await page.keyboard.press('Enter');
    await page.getByText('kim.keys was invited.').waitFor();
  });
});

type App = ReturnType<typeof createApp>;

/** A request to the console in-process, as a browser on the console's own origin would send it. */
async function consoleRequest(app: App, method: string, path: string, options: { cookie?: string; form?: Record<string, string>; origin?: string | null } = {}) {
  const headers: Record<string, string> = { 'accept-language': 'en' };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin !== null && method !== 'GET') headers.origin = options.origin ?? 'http://localhost';
  const init: RequestInit = { method, headers, redirect: 'manual' };
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    init.body = new URLSearchParams(options.form).toString();
  }
  return app.request(`http://localhost${path}`, init);
}

/** Signs in in-process; returns the cookie and the session's form token (from a page's form). */
async function session(app: App, login: string) {
  const res = await consoleRequest(app, 'POST', '/console/login', { form: { login, password: PASSWORD } });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await consoleRequest(app, 'GET', '/console/users/invite', { cookie })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf, setCookie: res.headers.get('set-cookie')! };
}

describe('the overview', () => {
  it('searches by name or address and filters by status', async () => {
    const { cookie } = await session(h.app, 'cora.staff');
    const found = await (await consoleRequest(h.app, 'GET', '/console/users?q=oliver.staff%40example', { cookie })).text();
    expect(found).toContain('>oliver.staff</a>');
    expect(found).not.toContain('>greta.staff</a>');
    const pending = await h.api('POST', '/api/v1/invitations', { username: 'fritz.offen', email: 'fritz.offen@example.com', userType: 'member' });
    expect(pending.status).toBe(201);
    const invited = await (await consoleRequest(h.app, 'GET', '/console/users?status=invited', { cookie })).text();
    expect(invited).toContain('>fritz.offen</a>');
    expect(invited).not.toContain('>cora.staff</a>');
  });
});

describe('a thousand users in the Übersicht', () => {
  it('pages through them 50 at a time, each user once and in order, and the table never shifts as it loads', async () => {
    const now = Date.now();
    const many = Array.from({ length: 1000 }, (_, i) => {
      const username = `viele.${String(i).padStart(4, '0')}`;
      const key = canonicalUsername(username);
      // Older than everyone the other tests made, newest first: viele.0999 … viele.0000.
      const at = new Date(now - 86_400_000 - (1000 - i) * 1000);
      return {
        id: randomUUID(), username, username_key: key, username_skeleton: skeletonOfUsernameKey(key),
        email: `${username}@example.com`, email_key: `${username}@example.com`, user_type: 'member', is_staff: false,
        locale: 'de' as const, status: i % 2 ? ('invited' as const) : ('inactive' as const), created_at: at, updated_at: at,
        deactivated_at: i % 2 ? null : at, deactivation_reason: i % 2 ? null : 'invitation_expired',
      };
    });
    await h.db.insertInto('users').values(many).execute();

    const page = await newPage('de-DE');
    // Layout shifts as the browser reports them (CLS's entries), from the first paint of each page on.
    await page.addInitScript(() => {
      const w = window as unknown as { shifts: number };
      w.shifts = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) if (!entry.hadRecentInput) w.shifts += entry.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await signIn(page, 'paula.staff', { login: 'Benutzername oder E-Mail-Adresse', password: 'Passwort', submit: 'Anmelden' });
    await page.goto(`${base}/console/users`);
    const listed: string[] = [];
    for (let pages = 1; ; pages++) {
      expect(pages).toBeLessThanOrEqual(25);
      await page.waitForLoadState('load');
      const names = await page.locator('tbody tr td:first-child a').allTextContents();
      expect(names.length).toBeLessThanOrEqual(50);
      listed.push(...names);
      expect(await page.evaluate(() => (window as unknown as { shifts: number }).shifts)).toBeLessThan(0.001);
      const next = page.getByRole('link', { name: 'Nächste Seite', exact: true });
      if ((await next.count()) === 0) break;
      await next.click();
    }
    const viele = listed.filter((name) => name.startsWith('viele.'));
    expect(viele).toEqual(many.map((u) => u.username).reverse());
    expect(new Set(listed).size).toBe(listed.length);
  });
});

describe('security of the console', () => {
  it('the session cookie is HttpOnly and SameSite=Strict; pages carry a strict CSP', async () => {
    const { setCookie, cookie } = await session(h.app, 'cora.staff');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toMatch(/Secure/i); // PUBLIC_BASE_URL is http here
    const page = await consoleRequest(h.app, 'GET', '/console/users', { cookie });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');

    // Served over https: Secure, and bound to the origin with the __Host- prefix; framing as configured.
    const https = createApp({ ...h.deps, config: { ...h.config, PUBLIC_BASE_URL: 'https://console.example', CONSOLE_FRAME_ANCESTORS: 'https://admin.example' } });
    const secure = await session(https, 'cora.staff');
    expect(secure.setCookie).toMatch(/^__Host-console_session=.*; Secure/i);
    const framed = await consoleRequest(https, 'GET', '/console/users', { cookie: secure.cookie });
    expect(framed.headers.get('content-security-policy')).toContain('frame-ancestors https://admin.example');
  });

  it('a form posted from another origin with a valid session is refused with 403 and changes nothing', async () => {
    const { cookie, csrf } = await session(h.app, 'cross.staff');
    const form = { _csrf: csrf, username: 'forged.user', email: 'forged.user@example.com', userType: 'member' };
    const forged = await consoleRequest(h.app, 'POST', '/console/users/invite', { cookie, form, origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    // Without the session's token, from the right origin: refused too.
    const tokenless = await consoleRequest(h.app, 'POST', '/console/users/invite', { cookie, form: { ...form, _csrf: 'guessed' } });
    expect(tokenless.status).toBe(403);
    expect((await h.api('GET', '/api/v1/users?q=forged.user')).body.items).toEqual([]);
    // The same form from the console itself goes through: the refusals above were the guard's.
    const genuine = await consoleRequest(h.app, 'POST', '/console/users/invite', { cookie, form });
    expect(genuine.status).toBe(303);
    expect((await h.api('GET', '/api/v1/users?q=forged.user')).body.items).toHaveLength(1);
  });

  it('a browser page on another site cannot post a console form', async () => {
    const page = await newPage('en-GB');
    await signIn(page, 'site.staff', { login: 'Username or email address', password: 'Password', submit: 'Sign in' });
    await page.getByRole('heading', { name: 'User overview' }).waitFor();
    // A page served from another origin (localhost vs 127.0.0.1 are different sites) posts the invite form.
    const other = base.replace('127.0.0.1', 'localhost');
    await context!.route(`${other}/evil`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<form method="post" action="${base}/console/users/invite"><input name="username" value="evil.user"><input name="email" value="evil.user@example.com"><input name="userType" value="member"><button>go</button></form>`,
      }),
    );
    await page.goto(`${other}/evil`);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${base}/console/users/invite`)), page.getByRole('button', { name: 'go' }).click()]);
    expect(response.status()).toBe(403);
    expect((await h.api('GET', '/api/v1/users?q=evil.user')).body.items).toEqual([]);
  });

  it('a session ends after its idle time, and after its absolute lifetime however busy', async () => {
    const idle = createApp({ ...h.deps, config: { ...h.config, CONSOLE_SESSION_IDLE_TIMEOUT: 1_000 } });
    const a = await session(idle, 'ida.staff');
    // Requests keep it alive past the idle time (each restarts the idle clock) ...
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 400));
      expect((await consoleRequest(idle, 'GET', '/console/users', { cookie: a.cookie })).status).toBe(200);
    }
    // ... and a pause longer than it ends it.
    await new Promise((r) => setTimeout(r, 1_300));
    const ended = await consoleRequest(idle, 'GET', '/console/users', { cookie: a.cookie });
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toContain('/console/login?ended=1');

    const short = createApp({ ...h.deps, config: { ...h.config, CONSOLE_SESSION_MAX_AGE: 1_500 } });
    const b = await session(short, 'ida.staff');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 400));
      if (i < 2) expect((await consoleRequest(short, 'GET', '/console/users', { cookie: b.cookie })).status).toBe(200);
    }
    expect((await consoleRequest(short, 'GET', '/console/users', { cookie: b.cookie })).status).toBe(303);
  });

  it('sign-out ends the session on the server, not only in the browser', async () => {
    const { cookie, csrf } = await session(h.app, 'otto.staff');
    expect((await consoleRequest(h.app, 'POST', '/console/logout', { cookie, form: { _csrf: csrf } })).status).toBe(303);
    expect((await consoleRequest(h.app, 'GET', '/console/users', { cookie })).status).toBe(303);
    const trail = await h.api('GET', '/api/v1/audit-events?actor=otto.staff&action=user.logout');
    expect(trail.body.items).toMatchObject([{ action: 'user.logout', via: 'console' }]);
  });

  it('sessions end when the staff member loses staff status, is deleted, or changes password', async () => {
    const lost = users['lost.staff']!;
    const s1 = await session(h.app, 'lost.staff');
    expect((await h.api('PATCH', `/api/v1/users/${lost.id}`, { isStaff: false })).status).toBe(200);
    expect((await consoleRequest(h.app, 'GET', '/console/users', { cookie: s1.cookie })).status).toBe(303);

    const gone = users['gone.staff']!;
    const s2 = await session(h.app, 'gone.staff');
    expect((await h.api('DELETE', `/api/v1/users/${gone.id}`)).status).toBe(204);
    expect((await consoleRequest(h.app, 'GET', '/console/users', { cookie: s2.cookie })).status).toBe(303);

    const s3 = await session(h.app, 'pw.staff');
    expect((await h.api('POST', '/api/v1/public/password-resets', { email: 'pw.staff@example.com' }, { authorization: '' })).status).toBe(202);
    const reset = linkFrom((await h.mail.waitFor((m) => m.to.includes('pw.staff@example.com') && m.text.includes('/password/reset'))).text, '/password/reset');
    const done = await h.api('POST', '/api/v1/public/password-resets/complete', { token: reset.token, password: 'a brand new passphrase' }, { authorization: '' });
    expect(done.status).toBe(200);
    expect((await consoleRequest(h.app, 'GET', '/console/users', { cookie: s3.cookie })).status).toBe(303);
  });
});
