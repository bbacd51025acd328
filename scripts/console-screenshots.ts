/**
 * `npm run console:screenshots -- --password …`: screenshots of the staff console's main
 * screens for the README, taken with Chromium (playwright-core) from a running service
 * (`npm start`), signed in as a staff user. German, as the seed's words are German.
 *
 *   --url URL        the service (default http://localhost:3000)
 *   --login NAME     a staff user's username or email (default admin)
 *   --password PW    its password
 *   --out DIR        where the PNGs go (default docs/images)
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    login: { type: 'string', default: 'admin' },
    password: { type: 'string' },
    out: { type: 'string', default: 'docs/images' },
  },
});
if (!values.password) {
  process.stderr.write('Usage: npm run console:screenshots -- --password PW [--login admin] [--url http://localhost:3000] [--out docs/images]\n');
  process.exit(1);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await (await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 800 } })).newPage();
  mkdirSync(values.out, { recursive: true });
  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(values.out, `${name}.png`), fullPage: true });
    process.stdout.write(`${path.join(values.out, `${name}.png`)}\n`);
  };
  await page.goto(`${values.url}/console`);
  await shot('console-anmeldung');
  await page.getByLabel('Benutzername oder E-Mail-Adresse', { exact: true }).fill(values.login);
  await page.getByLabel('Passwort', { exact: true }).fill(values.password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await page.getByRole('heading', { name: 'Nutzerübersicht' }).waitFor();
  await shot('console-uebersicht');
  await page.goto(`${values.url}/console/users/invite`);
  await shot('console-einladen');
  await page.goto(`${values.url}/console/emails`);
  await shot('console-logs');
  await page.getByRole('link', { name: /^Info/ }).first().click();
  await page.getByRole('heading', { name: 'E-Mail-Info' }).waitFor();
  await shot('console-info');
  await page.goto(`${values.url}/console/users`);
  await page.locator('table.users tbody a').last().click();
  await page.getByRole('heading', { name: /^Bearbeitungsansicht/ }).waitFor();
  await shot('console-bearbeitung');
  await page.goto(`${values.url}/console/templates`);
  await shot('console-vorlagen');
} finally {
  await browser.close();
}
