import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, localContext } from './support/browser.js';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

/** axe-core's WCAG 2.1 A/AA rules on every page an invitee sees, in each state that matters. */
let h: Harness;
let browser: Browser;
let base: string;
beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness(), launchChromium()]);
  base = await h.listen();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function violations(page: Page) {
  const result = await new AxeBuilder({ page: page as never }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

const local = (url: string) => url.replace(/^http:\/\/localhost:3999/, base);

async function check(url: string, ready: (page: Page) => Promise<unknown>, locale = 'en-GB') {
  const { context, foreignRequests } = await localContext(browser, { locale });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await ready(page);
    expect(await violations(page)).toEqual([]);
    expect(foreignRequests).toEqual([]);
  } finally {
    await context.close();
  }
}

describe('the pages an invitee sees meet WCAG 2.1 AA (axe-core)', () => {
  it('the accept page: form, then the used-link page', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'axe.anna', email: 'axe.anna@example.com', userType: 'member', locale: 'de' });
    expect(res.status).toBe(201);
    const link = linkFrom((await h.mail.waitFor((m) => m.to.includes('axe.anna@example.com'))).text);
    await check(local(link.url), (page) => page.locator('#password-form').waitFor(), 'de-DE');
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'accessible all the way' }, { authorization: '' })).status).toBe(200);
    await check(local(link.url), (page) => page.locator('#outcome').waitFor(), 'de-DE');
  });

  it('the forgot-password page, before and after sending', async () => {
    await check(`${base}/password/forgot?lang=en`, async (page) => {
      await page.getByLabel('Email address', { exact: true }).waitFor();
    });
    await check(`${base}/password/forgot?lang=en`, async (page) => {
      await page.getByLabel('Email address', { exact: true }).fill('someone@example.com');
      await page.getByRole('button', { name: 'Send link' }).click();
      await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    });
  });

  it('the reset page with a real link, and a link without a token', async () => {
    await h.api('POST', '/api/v1/invitations', { username: 'axe.ben', email: 'axe.ben@example.com', userType: 'member', locale: 'en' });
    await h.mail.waitFor((m) => m.to.includes('axe.ben@example.com'));
    await h.api('POST', '/api/v1/public/password-resets', { email: 'axe.ben@example.com' }, { authorization: '' });
    const reset = linkFrom((await h.mail.waitFor((m) => m.to.includes('axe.ben@example.com') && m.text.includes('/password/reset'))).text, '/password/reset');
    await check(local(reset.url), (page) => page.locator('#password-form').waitFor());
    await check(`${base}/password/reset?lang=en`, (page) => page.locator('#outcome').waitFor());
  });
});
