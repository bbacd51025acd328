import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, localContext } from './support/browser.js';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let base: string;
let browser: Browser;
let context: BrowserContext;
let foreignRequests: string[];

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness(), launchChromium()]);
  base = await h.listen();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});
afterEach(async () => {
  // The page may only ever talk to its own origin (CSP and security.md 4).
  expect(foreignRequests).toEqual([]);
  await context?.close();
});

async function newPage(locale = 'en-GB'): Promise<Page> {
  ({ context, foreignRequests } = await localContext(browser, { locale }));
  return context.newPage();
}

const publicApi = (path: string, body: unknown) => h.api('POST', path, body, { authorization: '' });

/**
 * Invites someone and returns the link from the mail they got. The mail's link is built from
 * PUBLIC_BASE_URL (http://localhost:3999 in tests), but the server only gets its port at
 * listen(), so the origin is swapped for the listening one; path, query and fragment — what
 * the page works with — stay exactly as mailed.
 */
async function invite(username: string, locale: 'de' | 'en') {
  const email = `${username}@example.com`;
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale });
  expect(res.status).toBe(201);
  const mail = await h.mail.waitFor((m) => m.to.includes(email), 15_000);
  const mailed = linkFrom(mail.text);
  const { pathname, search, hash } = new URL(mailed.url);
  return { user: res.body.user, invitationId: res.body.invitation.id as string, token: mailed.token, url: `${base}${pathname}${search}${hash}` };
}

const statusOf = async (userId: string) => (await h.api('GET', `/api/v1/users/${userId}`)).body.status as string;

describe('the invitation accept page in a browser', () => {
  it('an invitee follows the mailed link, chooses a password and can log in', async () => {
    const { user, token, url } = await invite('lena.browser', 'en');
    expect(url).toContain('/invitations/accept?lang=en#token=');
    const page = await newPage();
    const requests: { url: string; referer: string | undefined }[] = [];
    page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers()['referer'] }));

    await page.goto(url);
    await page.getByText('Welcome, lena.browser!').waitFor();
    expect(page.url()).toBe(`${base}/invitations/accept?lang=en`);

    await page.getByLabel('New password', { exact: true }).fill('a quiet river at dawn');
    await page.getByLabel('Repeat password', { exact: true }).fill('a quiet river at dawn');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('heading', { name: 'Your account is active' }).waitFor();
    expect(page.url()).not.toContain(token);

    // The token went only into the POST bodies: never into a URL or a Referer.
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.url).not.toContain(token);
      expect(r.referer ?? '').not.toContain(token);
    }

    const login = await publicApi('/api/v1/public/login', { login: 'lena.browser', password: 'a quiet river at dawn' });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ id: user.id, status: 'active' });
  });

  it('speaks German to a German invitee and explains each rejected password', async () => {
    const { user, url } = await invite('jonas.deutsch', 'de');
    // The browser prefers English; the link's language wins.
    const page = await newPage('en-GB');
    await page.goto(url);
    await page.getByText('Willkommen, jonas.deutsch!').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('de');
    await expect(page.title()).resolves.toBe('Einladung annehmen');

    const password = page.getByLabel('Neues Passwort', { exact: true });
    const confirm = page.getByLabel('Passwort wiederholen', { exact: true });
    const submit = page.getByRole('button', { name: 'Passwort festlegen' });
    const alert = page.getByRole('alert');

    await password.fill('kurz');
    await confirm.fill('kurz');
    await submit.click();
    await expect(alert.textContent()).resolves.toBe('Das Passwort muss mindestens 8 Zeichen lang sein.');

    await password.fill('ein langer Satz als Passwort');
    await confirm.fill('ein anderer Satz als Passwort');
    await submit.click();
    await expect(alert.textContent()).resolves.toBe('Die beiden Passwörter stimmen nicht überein.');

    // Long enough for the page, refused by the server's list of common passwords.
    await password.fill('password123');
    await confirm.fill('password123');
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/public/invitations/accept'));
    await submit.click();
    expect((await answer).status()).toBe(422);
    await page.getByText('Dieses Passwort ist nicht erlaubt', { exact: false }).waitFor();
    expect(await alert.textContent()).toMatch(/häufig benutzt/);
    expect(await submit.isEnabled()).toBe(true);
    expect(await statusOf(user.id)).toBe('invited');
  });

  it('opening the link never consumes it', async () => {
    const { user, token, url } = await invite('mia.scanner', 'en');
    // A mail scanner fetches the link as mailed (fetch, like any HTTP client, drops the fragment).
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(url, { method, redirect: 'manual' });
      expect(res.status, method).toBe(200);
    }
    const page = await newPage();
    await page.goto(url);
    await page.getByText('Welcome, mia.scanner!').waitFor();
    await page.reload();
    await context.close();

    expect(await statusOf(user.id)).toBe('invited');
    const accepted = await publicApi('/api/v1/public/invitations/accept', { token, password: 'still a perfectly good link' });
    expect(accepted.status).toBe(200);
  });

  describe('a used or revoked link shows a clear page with what to do next', () => {
    async function expectNoLongerValid(page: Page) {
      await page.getByRole('heading', { name: 'This link is no longer valid' }).waitFor();
      const forgot = page.getByRole('link', { name: 'Forgot password' });
      expect(await forgot.isVisible()).toBe(true);
      expect(await forgot.getAttribute('href')).toBe('/password/forgot?lang=en');
      expect(await page.getByLabel('New password', { exact: true }).isVisible()).toBe(false);
      const text = await page.locator('body').innerText();
      expect(text).toContain('If you already set a password, just sign in.');
      expect(text).not.toMatch(/[{}]|"status"|\bat \S+:\d+|Error\b|Internal Server/);
    }

    it('after the invitation was accepted', async () => {
      const { token, url } = await invite('noah.twice', 'en');
      expect((await publicApi('/api/v1/public/invitations/accept', { token, password: 'first and only acceptance' })).status).toBe(200);
      const page = await newPage();
      await page.goto(url);
      await expectNoLongerValid(page);
    });

    it('after staff revoked the invitation', async () => {
      const { invitationId, url } = await invite('ella.revoked', 'en');
      expect((await h.api('DELETE', `/api/v1/invitations/${invitationId}`)).status).toBe(204);
      const page = await newPage();
      await page.goto(url);
      await expectNoLongerValid(page);
    });
  });

  it('a link without its token, or with a mangled one, says it is incomplete', async () => {
    const page = await newPage();
    const cutOff = `${base}/invitations/accept?lang=en`;
    const mangled = `${cutOff}#token=${'A'.repeat(300)}`; // longer than any token: the API answers 422, not 410
    for (const url of [cutOff, `${cutOff}#token=`, mangled]) {
      await page.goto('about:blank'); // a change of fragment alone would not reload the page
      await page.goto(url);
      await page.getByRole('heading', { name: 'The link is incomplete' }).waitFor();
      expect(await page.getByText('Please open the link exactly as it appears in the email').isVisible()).toBe(true);
      expect(await page.getByRole('link', { name: 'Forgot password' }).isVisible()).toBe(false);
    }
  });

  it('sends headers that keep the page from leaking or caching the link', async () => {
    const res = await fetch(`${base}/invitations/accept?lang=en`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? /(?:^|;)\s*default-src ([^;]*)/.exec(csp)?.[1];
    expect(scriptSrc, csp).toBeDefined();
    expect(scriptSrc).not.toContain("'unsafe-inline'");
    expect(scriptSrc).not.toContain("'unsafe-eval'");
    expect(csp).toMatch(/frame-ancestors 'none'/);
  });

  it('shows the form as a centred, readable card, on a desktop and on a phone, light or dark', async () => {
    const { url } = await invite('sofia.looks', 'en');
    const page = await newPage();
    await page.goto(url);
    await page.getByText('Welcome, sofia.looks!').waitFor();
    await page.screenshot({ path: '/tmp/accept-page.png' });

    const viewport = page.viewportSize()!;
    const card = (await page.locator('main.card').boundingBox())!;
    expect(Math.abs(card.x + card.width / 2 - viewport.width / 2)).toBeLessThan(2);
    expect(Math.abs(card.y + card.height / 2 - viewport.height / 2)).toBeLessThan(2);
    expect(card.width).toBeLessThanOrEqual(36 * 16); // a readable line length
    const input = (await page.getByLabel('New password', { exact: true }).boundingBox())!;
    expect(input.x).toBeGreaterThan(card.x);
    expect(input.x + input.width).toBeLessThan(card.x + card.width);
    expect(await page.locator('#intro').evaluate((el) => parseFloat(getComputedStyle(el).fontSize))).toBeGreaterThanOrEqual(16);

    // The hint and the error are small text: WCAG AA asks 4.5:1 against the page.
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').getByText('at least 8 characters').waitFor();
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const selector of ['#password-hint', '#expiry', '#password-error']) {
        expect(await contrastAgainstPage(page, selector), `${selector} (${colorScheme})`).toBeGreaterThanOrEqual(4.5);
      }
    }

    await page.setViewportSize({ width: 360, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'horizontal scrolling on a phone').toBe(0);
  });
});

/** WCAG contrast ratio of an element's text colour against the page background. */
function contrastAgainstPage(page: Page, selector: string): Promise<number> {
  return page.locator(selector).evaluate((el) => {
    // A canvas resolves any CSS colour (system colours, color-mix, light-dark) to sRGB bytes.
    const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
    const luminance = (css: string) => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b] = [...ctx.getImageData(0, 0, 1, 1).data].slice(0, 3).map((v) => {
        const c = v / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const text = luminance(getComputedStyle(el).color);
    const background = luminance(getComputedStyle(document.body).backgroundColor);
    return (Math.max(text, background) + 0.05) / (Math.min(text, background) + 0.05);
  });
}
