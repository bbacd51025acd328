import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, localContext } from './support/browser.js';
import { linkFrom, startHarness, testConfig, type Harness } from './support/harness.js';
import { nextStepUrl, redirectUrlProblem } from '../src/invitations/redirect.js';
import { formatExpiry } from '../emails/i18n.js';

/**
 * The accept page: the deadline as the mail gave it (issue 17.8), and after the password is set, the accept page offers the platform's next step: the
 * invitation's redirectUrl on an allowed origin, else ACCEPT_REDIRECT_URL (issue 17.2).
 */
let h: Harness;
let base: string;
let browser: Browser;
let context: BrowserContext | undefined;
beforeAll(async () => {
  [h, browser] = await Promise.all([
    startHarness({ config: { ACCEPT_REDIRECT_ORIGINS: 'https://app.example.com, https://admin.example.com', ACCEPT_REDIRECT_URL: 'https://app.example.com/sign-in' } }),
    launchChromium(),
  ]);
  base = await h.listen();
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await h?.close();
});

async function invite(username: string, extra: Record<string, unknown> = {}) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en', ...extra });
  return res;
}
async function linkOf(username: string) {
  const mail = await h.mail.waitFor((m) => m.to.includes(`${username}@example.com`), 15_000);
  const { pathname, search, hash } = new URL(linkFrom(mail.text).url);
  return { url: `${base}${pathname}${search}${hash}`, token: linkFrom(mail.text).token };
}

describe('redirectUrl on an invitation', () => {
  it('the accept page shows it as the next step once the password is set', async () => {
    expect((await invite('redir.anna', { redirectUrl: 'https://admin.example.com/welcome?team=7' })).status).toBe(201);
    const { url } = await linkOf('redir.anna');
    const local = await localContext(browser);
    context = local.context;
    const page = await context.newPage();
    await page.goto(url);
    await page.getByText('Welcome, redir.anna!').waitFor();
    expect(await page.locator('#outcome-continue').isHidden()).toBe(true);
    await page.getByLabel('New password', { exact: true }).fill('a quiet river at dawn');
    await page.getByLabel('Repeat password', { exact: true }).fill('a quiet river at dawn');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('heading', { name: 'Your account is active' }).waitFor();
    const next = page.getByRole('link', { name: 'Continue to admin.example.com' });
    expect(await next.getAttribute('href')).toBe('https://admin.example.com/welcome?team=7');
    // Offered, not followed: the page talked to nobody but its own origin.
    expect(local.foreignRequests).toEqual([]);
    await context.close();
    context = undefined;
  });

  it('without one, the platform-wide ACCEPT_REDIRECT_URL is the next step', async () => {
    expect((await invite('redir.bo')).status).toBe(201);
    const { token } = await linkOf('redir.bo');
    const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'a quiet river at dawn' }, { authorization: '' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.redirectUrl).toBe('https://app.example.com/sign-in');
  });

  it.each([
    ['another origin', 'https://evil.example.net/welcome'],
    ['an allowed host on another scheme', 'http://app.example.com/welcome'],
    ['an allowed host on another port', 'https://app.example.com:8443/welcome'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative URL', '/welcome'],
    ['credentials in the URL', 'https://user:pw@app.example.com/'],
  ])('%s is refused with a 422 problem naming redirectUrl, and nobody is invited', async (_what, redirectUrl) => {
    const username = `redir.bad${Math.random().toString(36).slice(2, 8)}`;
    const res = await invite(username, { redirectUrl });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['redirectUrl']);
    expect(await h.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()).toBeUndefined();
  });
});

describe('the allowed origins', () => {
  it('none configured: every redirectUrl is refused, and there is no next step', () => {
    const config = testConfig();
    expect(redirectUrlProblem('https://app.example.com/', config)).toMatch(/no ACCEPT_REDIRECT_ORIGINS/);
    expect(nextStepUrl(null, config)).toBeNull();
  });

  it('a stored redirectUrl whose origin is no longer allowed falls back to ACCEPT_REDIRECT_URL', () => {
    const config = testConfig({ ACCEPT_REDIRECT_URL: 'https://app.example.com/sign-in' });
    expect(nextStepUrl('https://admin.example.com/welcome', config)).toBe('https://app.example.com/sign-in');
    expect(nextStepUrl('https://app.example.com/welcome', config)).toBe('https://app.example.com/welcome');
  });

  it('ACCEPT_REDIRECT_ORIGINS takes origins only: a path or another scheme stops the start', () => {
    expect(() => testConfig({ ACCEPT_REDIRECT_ORIGINS: 'https://app.example.com/welcome' })).toThrow(/ACCEPT_REDIRECT_ORIGINS/);
    expect(() => testConfig({ ACCEPT_REDIRECT_ORIGINS: 'ftp://app.example.com' })).toThrow(/ACCEPT_REDIRECT_ORIGINS/);
    expect(testConfig({ ACCEPT_REDIRECT_ORIGINS: 'https://app.example.com/, http://localhost:5173' }).ACCEPT_REDIRECT_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });
});

describe('the deadline on the accept page', () => {
  it('is the one the mail gave, in the platform time zone and naming it, wherever the reader is', async () => {
    const res = await invite('deadline.ny', { locale: 'de' });
    expect(res.status).toBe(201);
    const mail = await h.mail.waitFor((m) => m.to.includes('deadline.ny@example.com'), 15_000);
    // The harness runs with PLATFORM_TIMEZONE=Europe/Berlin (the default): MEZ or MESZ.
    const inMail = formatExpiry(res.body.invitation.expiresAt, 'de', h.config.PLATFORM_TIMEZONE);
    expect(inMail).toMatch(/MES?Z/);
    expect(mail.text.replace(/\s+/g, ' ')).toContain(inMail);
    const { url } = await linkOf('deadline.ny');
    // A reader in New York, whose own clock is six hours behind Berlin.
    const local = await localContext(browser, { locale: 'de-DE', timezoneId: 'America/New_York' });
    context = local.context;
    const page = await context.newPage();
    await page.goto(url);
    await page.getByText('Willkommen, deadline.ny!').waitFor();
    expect(await page.locator('#expiry').textContent()).toBe(`Dieser Link ist gültig bis ${inMail}.`);
    await context.close();
    context = undefined;
  });
});
