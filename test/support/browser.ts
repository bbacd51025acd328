import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's chromium, headless; the flags keep it from phoning home or needing a sandbox. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A fresh context that may only talk to the local test server: anything else (a CDN, a
 * font, a tracker the page should not have) is aborted and recorded, so a test can assert
 * the page made no such request.
 */
export async function localContext(browser: Browser, options: { locale?: string; timezoneId?: string } = {}): Promise<{ context: BrowserContext; foreignRequests: string[] }> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-GB', viewport: { width: 1024, height: 768 }, ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}) });
  // Everything on these pages is local and quick; fail well inside vitest's own timeout.
  context.setDefaultTimeout(10_000);
  const foreignRequests: string[] = [];
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      foreignRequests.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  return { context, foreignRequests };
}
