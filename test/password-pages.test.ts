import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, localContext } from './support/browser.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let base: string;
let browser: Browser;
let context: BrowserContext;
/** Requests to anywhere but the test server, from every context a test opened. */
let foreignRequests: string[][] = [];

beforeAll(async () => {
  // A 3-second invitation lifetime lets the end-to-end test below watch an invitation expire;
  // the page tests do not care.
  [h, browser] = await Promise.all([startHarness({ config: { INVITATION_TTL: '3s' } }), launchChromium()]);
  base = await h.listen();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});
afterEach(async () => {
  // The pages may only ever talk to their own origin (CSP and security.md 4).
  expect(foreignRequests.flat()).toEqual([]);
  foreignRequests = [];
  await context?.close();
});

async function newPage(locale = 'en-GB'): Promise<Page> {
  const opened = await localContext(browser, { locale });
  context = opened.context;
  foreignRequests.push(opened.foreignRequests);
  return context.newPage();
}

const TOKEN = 'x'.repeat(43);
const WEAK = { type: 'https://invitations.dev/problems/weak-password', title: 'The password does not meet the rules', status: 422 };
const GONE = { type: 'https://invitations.dev/problems/link-invalid-or-expired', title: 'This link is invalid, used or expired', status: 410 };

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
type Endpoint = 'request' | 'inspect' | 'complete';

/**
 * Answers the password-reset API as its contract says (api.md), so the pages can be tested on
 * their own. Each endpoint takes answers from its queue; the last one repeats.
 */
async function stubResetApi(page: Page, answers: Partial<Record<Endpoint, Answer[]>>) {
  const calls: { endpoint: Endpoint; body: any }[] = [];
  await page.route('**/api/v1/public/password-resets**', async (route) => {
    const path = new URL(route.request().url()).pathname;
    const endpoint: Endpoint = path.endsWith('/inspect') ? 'inspect' : path.endsWith('/complete') ? 'complete' : 'request';
    calls.push({ endpoint, body: route.request().postDataJSON() });
    const queue = answers[endpoint] ?? [];
    const answer = (queue.length > 1 ? queue.shift() : queue[0]) ?? { status: 404, body: { status: 404 } };
    const problem = answer.status >= 400;
    await route.fulfill({
      status: answer.status,
      headers: { 'content-type': problem ? 'application/problem+json' : 'application/json', ...answer.headers },
      body: JSON.stringify(answer.body ?? {}),
    });
  });
  return calls;
}

const usable = (username: string, locale = 'en'): Answer => ({
  status: 200,
  body: { username, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), locale },
});

/** Page text must never show what the API said verbatim: no JSON, no stack, no status dump. */
async function expectNoInternals(page: Page) {
  const text = await page.locator('body').innerText();
  expect(text).not.toMatch(/[{}]|"status"|\.(?:ts|js):\d+|Error\b|Internal Server|problems\//);
}

describe('the forgot-password and reset pages in a browser (API answers stubbed to the contract)', () => {
  it('send headers that keep the pages from leaking or caching a link', async () => {
    for (const path of ['/password/forgot', '/password/forgot?lang=en', '/password/reset', '/password/reset?lang=de']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      const csp = res.headers.get('content-security-policy') ?? '';
      const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1];
      expect(scriptSrc, csp).toBe("'self'");
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).toMatch(/connect-src 'self'/);
    }
  });

  it('speak the language of ?lang=, else of the browser, else German', async () => {
    const cases = [
      { browser: 'en-GB', path: '/password/forgot', lang: 'en', title: 'Forgot your password?', label: 'Email address' },
      { browser: 'de-DE', path: '/password/forgot', lang: 'de', title: 'Passwort vergessen', label: 'E-Mail-Adresse' },
      { browser: 'de-DE', path: '/password/forgot?lang=en', lang: 'en', title: 'Forgot your password?', label: 'Email address' },
      { browser: 'fr-FR', path: '/password/forgot', lang: 'de', title: 'Passwort vergessen', label: 'E-Mail-Adresse' },
      { browser: 'en-GB', path: '/password/reset?lang=de', lang: 'de', title: 'Neues Passwort festlegen', label: 'Neues Passwort' },
      { browser: 'de-DE', path: '/password/reset', lang: 'de', title: 'Neues Passwort festlegen', label: 'Neues Passwort' },
      { browser: 'de-DE', path: '/password/reset?lang=en', lang: 'en', title: 'Set a new password', label: 'New password' },
    ];
    for (const c of cases) {
      const page = await newPage(c.browser);
      await stubResetApi(page, { inspect: [usable('lena.lang')] });
      await page.goto(`${base}${c.path}#token=${TOKEN}`);
      await page.getByLabel(c.label, { exact: true }).waitFor();
      expect(await page.locator('html').getAttribute('lang'), JSON.stringify(c)).toBe(c.lang);
      expect(await page.title(), JSON.stringify(c)).toBe(c.title);
      await context.close();
    }
  });

  describe('forgot password', () => {
    it('shows the same neutral confirmation whatever address was entered', async () => {
      const shown: string[] = [];
      for (const email of ['lena@example.com', 'nobody-we-know@example.org']) {
        const page = await newPage();
        const calls = await stubResetApi(page, { request: [{ status: 202, body: {} }] });
        await page.goto(`${base}/password/forgot?lang=en`);
        const field = page.getByLabel('Email address', { exact: true });
        expect(await field.getAttribute('type')).toBe('email');
        expect(await field.getAttribute('autocomplete')).toBe('email');
        await field.fill(email);
        await page.getByRole('button', { name: 'Send link' }).click();

        const heading = page.getByRole('heading', { name: 'Check your inbox' });
        await heading.waitFor();
        expect(await heading.evaluate((el) => el === document.activeElement)).toBe(true);
        expect(await field.isVisible()).toBe(false);
        expect(calls).toEqual([{ endpoint: 'request', body: { email } }]);
        shown.push(await page.locator('#outcome').innerText());
        await context.close();
      }
      expect(shown[0]).toContain("If an account exists for this address, we've sent a link to set a new password. It is valid for a limited time. Check your spam folder.");
      expect(shown[1]).toBe(shown[0]);
      expect(shown[0]).not.toContain('@');
    });

    it('says it in German, addressing the reader formally', async () => {
      const page = await newPage('de-DE');
      await stubResetApi(page, { request: [{ status: 202, body: {} }] });
      await page.goto(`${base}/password/forgot`);
      await page.getByLabel('E-Mail-Adresse', { exact: true }).fill('lena@example.com');
      await page.getByRole('button', { name: 'Link anfordern' }).click();
      await page.getByRole('heading', { name: 'Prüfen Sie Ihr Postfach' }).waitFor();
      const text = await page.locator('#outcome-text').innerText();
      expect(text).toBe(
        'Falls zu dieser Adresse ein Konto besteht, haben wir Ihnen einen Link geschickt, mit dem Sie ein neues Passwort festlegen können. Der Link ist nur für begrenzte Zeit gültig. Sehen Sie bitte auch in Ihrem Spam-Ordner nach.',
      );
      expect(text).not.toMatch(/\b(du|dein|dich|dir)\b/i);
    });

    it('explains a missing or malformed address and a rate limit, and keeps the form usable', async () => {
      const page = await newPage();
      const calls = await stubResetApi(page, {
        request: [
          { status: 422, body: { type: 'https://invitations.dev/problems/validation-failed', status: 422, errors: [{ field: 'email', message: 'Invalid email address' }] } },
          { status: 429, body: { status: 429 }, headers: { 'retry-after': '120' } },
          { status: 429, body: { status: 429 }, headers: { 'retry-after': '45' } },
          { status: 500, body: { status: 500, detail: 'boom', stack: 'Error: boom\n    at x.ts:1:1' } },
        ],
      });
      await page.goto(`${base}/password/forgot?lang=en`);
      const field = page.getByLabel('Email address', { exact: true });
      const send = page.getByRole('button', { name: 'Send link' });
      const fieldMessage = page.locator('#email-error');

      // Nothing typed, or not an address at all: the page says so without asking the server.
      await send.click();
      await expect(fieldMessage.textContent()).resolves.toBe('Please enter your email address.');
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await field.evaluate((el) => el === document.activeElement)).toBe(true);
      await field.fill('not an address');
      await send.click();
      await expect(fieldMessage.textContent()).resolves.toBe('Please enter a valid email address, for example name@example.com.');
      expect(calls).toEqual([]);

      // Plausible to the browser, refused by the server.
      await field.fill('someone@localhost');
      await send.click();
      await page.getByRole('alert').getByText('Please enter a valid email address').waitFor();
      expect(await field.getAttribute('aria-invalid')).toBe('true');

      await field.fill('someone@example.com');
      await send.click();
      await page.getByRole('alert').getByText('Too many requests. Please try again in 2 minutes.').waitFor();
      expect(await field.getAttribute('aria-invalid')).toBeNull();
      expect(await fieldMessage.textContent()).toBe('');

      await send.click();
      await page.getByRole('alert').getByText('Too many requests. Please try again in 1 minute.').waitFor();

      await send.click();
      await page.getByRole('alert').getByText('That did not work. Please try again in a moment.').waitFor();
      expect(await send.isEnabled()).toBe(true);
      expect(await field.isVisible()).toBe(true);
      expect(calls).toHaveLength(4);
      await expectNoInternals(page);
    });
  });

  describe('reset password', () => {
    it('greets the account, checks the password as the server counts it, and reports success', async () => {
      const page = await newPage();
      const calls = await stubResetApi(page, { inspect: [usable('lena.reset')], complete: [{ status: 200, body: { user: { username: 'lena.reset', status: 'active' } } }] });
      const requests: Request[] = [];
      page.on('request', (r) => requests.push(r));

      await page.goto(`${base}/password/reset?lang=en#token=${TOKEN}`);
      await page.getByText('Set a new password for lena.reset.').waitFor();
      expect(page.url()).toBe(`${base}/password/reset?lang=en`);
      expect(await page.getByText('This link is valid until').isVisible()).toBe(true);

      const password = page.getByLabel('New password', { exact: true });
      const confirm = page.getByLabel('Repeat password', { exact: true });
      const submit = page.getByRole('button', { name: 'Set password' });
      const alert = page.getByRole('alert');
      expect(await password.evaluate((el) => el === document.activeElement)).toBe(true);
      for (const field of [password, confirm]) expect(await field.getAttribute('autocomplete')).toBe('new-password');

      await page.getByLabel('Show password').check();
      expect(await password.getAttribute('type')).toBe('text');
      expect(await confirm.getAttribute('type')).toBe('text');
      await page.getByLabel('Show password').uncheck();
      expect(await password.getAttribute('type')).toBe('password');

      await password.fill('short');
      await confirm.fill('short');
      await submit.click();
      await expect(alert.textContent()).resolves.toBe('The password must be at least 8 characters long.');

      await password.fill('a long sentence as a password');
      await confirm.fill('a different sentence entirely');
      await submit.click();
      await expect(alert.textContent()).resolves.toBe('The two passwords do not match.');
      expect(calls.filter((c) => c.endpoint === 'complete')).toEqual([]);

      // Four ligatures are four characters typed but eight after NFKC, which is what the server counts.
      await password.fill('ﬀﬀﬀﬀ');
      await confirm.fill('ﬀﬀﬀﬀ');
      await submit.click();
      await page.getByRole('heading', { name: 'Your new password is set' }).waitFor();
      expect(await page.locator('#outcome-text').innerText()).toBe('Your new password is set and your account is active. You can sign in now.');
      expect(await password.isVisible()).toBe(false);
      expect(calls).toEqual([
        { endpoint: 'inspect', body: { token: TOKEN } },
        { endpoint: 'complete', body: { token: TOKEN, password: 'ﬀﬀﬀﬀ' } },
      ]);

      // The token went only into the POST bodies: never into a URL or a Referer.
      for (const r of requests) {
        expect(r.url()).not.toContain(TOKEN);
        expect(r.headers()['referer'] ?? '').not.toContain(TOKEN);
      }
    });

    it('in German, explains a refused password, a rate limit and a link that stopped working', async () => {
      const page = await newPage('en-GB');
      await stubResetApi(page, {
        inspect: [usable('jonas.reset', 'de')],
        complete: [
          { status: 422, body: { ...WEAK, errors: [{ field: 'password', message: 'is a commonly used password' }] } },
          { status: 429, body: { status: 429 }, headers: { 'retry-after': '300' } },
          { status: 410, body: GONE },
        ],
      });
      await page.goto(`${base}/password/reset?lang=de#token=${TOKEN}`);
      await page.getByText('Legen Sie ein neues Passwort für jonas.reset fest.').waitFor();
      const password = page.getByLabel('Neues Passwort', { exact: true });
      const confirm = page.getByLabel('Passwort wiederholen', { exact: true });
      const submit = page.getByRole('button', { name: 'Passwort festlegen' });
      const alert = page.getByRole('alert');
      await password.fill('password123');
      await confirm.fill('password123');

      await submit.click();
      await page.getByText('Dieses Passwort ist nicht erlaubt', { exact: false }).waitFor();
      expect(await alert.textContent()).toMatch(/häufig benutzt/);
      expect(await submit.isEnabled()).toBe(true);

      await submit.click();
      await alert.getByText('Zu viele Anfragen. Bitte versuchen Sie es in 5 Minuten erneut.').waitFor();
      expect(await submit.isEnabled()).toBe(true);

      await submit.click();
      await page.getByRole('heading', { name: 'Dieser Link ist nicht mehr gültig' }).waitFor();
      expect(await page.locator('#outcome-text').innerText()).toBe('Dieser Link ist ungültig, wurde bereits benutzt oder ist abgelaufen. Fordern Sie bitte einen neuen an.');
      const again = page.getByRole('link', { name: 'Neuen Link anfordern' });
      expect(await again.getAttribute('href')).toBe('/password/forgot?lang=de');
      expect(await password.isVisible()).toBe(false);
      await expectNoInternals(page);

      await again.click();
      await page.getByRole('heading', { name: 'Passwort vergessen' }).waitFor();
    });

    it('a link that is already dead when opened says so and offers a new one', async () => {
      const page = await newPage();
      await stubResetApi(page, { inspect: [{ status: 410, body: GONE }] });
      await page.goto(`${base}/password/reset?lang=en#token=${TOKEN}`);
      const heading = page.getByRole('heading', { name: 'This link is no longer valid' });
      await heading.waitFor();
      expect(await heading.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await page.locator('#outcome-text').innerText()).toBe('This link is invalid, was already used, or has expired — request a new one.');
      expect(await page.getByRole('link', { name: 'Request a new link' }).getAttribute('href')).toBe('/password/forgot?lang=en');
      expect(await page.getByLabel('New password', { exact: true }).isVisible()).toBe(false);
      expect(page.url()).not.toContain(TOKEN);
      await expectNoInternals(page);
    });

    it('a link without its token, or with a mangled one, says it is incomplete', async () => {
      const page = await newPage();
      const calls = await stubResetApi(page, { inspect: [{ status: 422, body: { status: 422, errors: [{ field: 'token', message: 'too long' }] } }] });
      const cutOff = `${base}/password/reset?lang=en`;
      for (const url of [cutOff, `${cutOff}#token=`, `${cutOff}#token=${'A'.repeat(300)}`]) {
        await page.goto('about:blank'); // a change of fragment alone would not reload the page
        await page.goto(url);
        await page.getByRole('heading', { name: 'The link is incomplete' }).waitFor();
        expect(await page.getByText('Please open the link exactly as it appears in the email').isVisible()).toBe(true);
        expect(await page.getByRole('link', { name: 'Request a new link' }).isVisible()).toBe(false);
      }
      // Only the mangled token was worth asking about.
      expect(calls.map((c) => c.endpoint)).toEqual(['inspect']);
    });

    it('an unexpected answer shows a plain sentence, never the response or a stack trace', async () => {
      const page = await newPage();
      const crash = { status: 500, body: { status: 500, detail: 'TypeError: x is undefined', stack: 'Error: boom\n    at handler (src/x.ts:1:1)' } };
      await stubResetApi(page, { inspect: [usable('lena.crash'), crash], complete: [crash] });
      await page.goto(`${base}/password/reset?lang=en#token=${TOKEN}`);
      await page.getByText('Set a new password for lena.crash.').waitFor();
      await page.getByLabel('New password', { exact: true }).fill('a quiet river at dawn');
      await page.getByLabel('Repeat password', { exact: true }).fill('a quiet river at dawn');
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByRole('alert').getByText('That did not work. Please try again in a moment.').waitFor();
      await expectNoInternals(page);

      await page.goto('about:blank');
      await page.goto(`${base}/password/reset?lang=en#token=${TOKEN}`);
      await page.getByRole('heading', { name: 'That did not work. Please try again in a moment.' }).waitFor();
      await expectNoInternals(page);
    });
  });
});

/**
 * These run against the real password-reset backend (POST /api/v1/public/password-resets,
 * …/inspect, …/complete, the reset workflow and its mail): nothing is stubbed.
 */
describe('password reset end to end, on the real backend', () => {
  const publicApi = (path: string, body: unknown) => h.api('POST', path, body, { authorization: '' });

  async function inviteAndLetExpire(username: string, locale: 'de' | 'en') {
    const email = `${username}@example.com`;
    const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale });
    expect(res.status).toBe(201);
    const id = res.body.user.id as string;
    await eventually(async () => (await h.api('GET', `/api/v1/users/${id}`)).body.status === 'inactive', 20_000, `${username} to become inactive`);
    return { id, email };
  }

  const resetMailFor = (email: string) => h.mail.waitFor((m) => m.to.includes(email) && m.text.includes('/password/reset'), 20_000);

  it('an invitee whose invitation expired uses forgot password and gets back in', async () => {
    const { id, email } = await inviteAndLetExpire('paula.expired', 'de');

    const page = await newPage('de-DE');
    const requests: Request[] = [];
    page.on('request', (r) => requests.push(r));
    await page.goto(`${base}/password/forgot`);
    await page.getByLabel('E-Mail-Adresse', { exact: true }).fill(email);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/public/password-resets'));
    await page.getByRole('button', { name: 'Link anfordern' }).click();
    expect((await answer).status()).toBe(202);
    await page.getByRole('heading', { name: 'Prüfen Sie Ihr Postfach' }).waitFor();

    const mail = await resetMailFor(email);
    expect(mail.subject).toContain('Passwort');
    const mailed = linkFrom(mail.text, '/password/reset');
    expect(mailed.url).toMatch(/^http:\/\/localhost:3999\/password\/reset\?lang=de#token=/);
    const { pathname, search, hash } = new URL(mailed.url);
    await page.goto(`${base}${pathname}${search}${hash}`);
    await page.getByText('Legen Sie ein neues Passwort für paula.expired fest.').waitFor();
    expect(page.url()).toBe(`${base}/password/reset?lang=de`);

    await page.getByLabel('Neues Passwort', { exact: true }).fill('zurück im Boot nach langer Zeit');
    await page.getByLabel('Passwort wiederholen', { exact: true }).fill('zurück im Boot nach langer Zeit');
    await page.getByRole('button', { name: 'Passwort festlegen' }).click();
    await page.getByRole('heading', { name: 'Ihr neues Passwort ist gesetzt' }).waitFor();
    expect(await page.locator('#outcome-text').innerText()).toBe('Ihr neues Passwort ist gesetzt und Ihr Konto ist aktiv. Sie können sich jetzt anmelden.');

    for (const r of requests) {
      expect(r.url()).not.toContain(mailed.token);
      expect(r.headers()['referer'] ?? '').not.toContain(mailed.token);
    }
    const login = await publicApi('/api/v1/public/login', { login: email, password: 'zurück im Boot nach langer Zeit' });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ id, status: 'active' });
  });

  it('an unknown address gets the identical confirmation, and no mail', async () => {
    const known = await inviteAndLetExpire('theo.known', 'en');
    const unknown = 'nobody.at.all@example.com';
    const seen: { status: number; body: string; shown: string }[] = [];
    for (const email of [known.email, unknown]) {
      const page = await newPage('en-GB');
      // The answer is read on its way to the page: Chromium keeps no body of a no-store
      // answer for Playwright's response.text() to read.
      let answer: { status: number; body: string } | undefined;
      await page.route('**/api/v1/public/password-resets', async (route) => {
        const response = await route.fetch();
        answer = { status: response.status(), body: await response.text() };
        await route.fulfill({ response });
      });
      await page.goto(`${base}/password/forgot?lang=en`);
      await page.getByLabel('Email address', { exact: true }).fill(email);
      await page.getByRole('button', { name: 'Send link' }).click();
      await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
      seen.push({ ...answer!, shown: await page.locator('#outcome').innerText() });
      await context.close();
    }
    expect(seen[0]!.status).toBe(202);
    expect(seen[1]).toEqual(seen[0]);

    // Once both requests' workflows have finished, no mail can still be on its way.
    await resetMailFor(known.email);
    await h.resetWorkflowsSettled(2);
    expect(h.mail.messages().filter((m) => m.to.includes(unknown))).toEqual([]);
  });
});
