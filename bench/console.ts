/**
 * `npm run bench:console`: how fast the staff console's pages answer with 10,000 users (issue
 * 16: under 100 ms p99 on this box). A fresh database is filled directly (users in every
 * status, each with an invitation, a logged mail and an audit event), one staff member signs
 * in, and each page is fetched over loopback HTTP, one request at a time (latency without
 * queueing). Prints a table and writes bench/results/console.json.
 *
 * Knobs (env): BENCH_CONSOLE_USERS (10000), BENCH_CONSOLE_REQUESTS (200 per page),
 * BENCH_PG_ADMIN_URL, BENCH_OUT.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import postgres from 'postgres';
import { createApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDatabase } from '../src/db/database.js';
import { freePort } from '../src/dev/ports.js';
import { createLogger } from '../src/log.js';
import { hashPassword } from '../src/passwords/hashing.js';
import { canonicalUsername, skeletonOfUsernameKey } from '../src/users/identity.js';
import { envInt, latencyStats, machineInfo, table } from './lib.js';

const USERS = envInt('BENCH_CONSOLE_USERS', 10_000, 1);
const REQUESTS = envInt('BENCH_CONSOLE_REQUESTS', 200, 1);
const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `invitations_console_bench_${process.pid}`;
const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.env.BENCH_OUT ?? path.join(here, 'results', 'console.json');
const PASSWORD = 'console bench passphrase';
const STATUSES = ['active', 'invited', 'inactive'] as const;

async function fill(db: Awaited<ReturnType<typeof openDatabase>>['db']) {
  const now = Date.now();
  for (let start = 0; start < USERS; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, USERS - start) }, (_, k) => {
      const i = start + k;
      const username = `user.${i}`;
      const key = canonicalUsername(username);
      const status = STATUSES[i % 3]!;
      return { i, id: randomUUID(), username, key, status, created: new Date(now - (USERS - i) * 60_000) };
    });
    await db
      .insertInto('users')
      .values(
        batch.map((u) => ({
          id: u.id,
          username: u.username,
          username_key: u.key,
          username_skeleton: skeletonOfUsernameKey(u.key),
          email: `user.${u.i}@example.com`,
          email_key: `user.${u.i}@example.com`,
          user_type: 'member',
          is_staff: false,
          locale: 'de' as const,
          status: u.status,
          created_at: u.created,
          updated_at: u.created,
          activated_at: u.status === 'active' ? u.created : null,
          last_login_at: u.status === 'active' ? u.created : null,
          deactivated_at: u.status === 'inactive' ? u.created : null,
          deactivation_reason: u.status === 'inactive' ? 'invitation_expired' : null,
        })),
      )
      .execute();
    const invitations = batch.map((u) => ({ ...u, invitationId: randomUUID() }));
    await db
      .insertInto('invitations')
      .values(
        invitations.map((u) => ({
          id: u.invitationId,
          user_id: u.id,
          workflow_id: `invitation-${u.id}`,
          status: u.status === 'active' ? ('accepted' as const) : u.status === 'invited' ? ('pending' as const) : ('expired' as const),
          created_at: u.created,
          expires_at: new Date(u.created.getTime() + 28 * 86_400_000),
          accepted_at: u.status === 'active' ? u.created : null,
          expired_at: u.status === 'inactive' ? u.created : null,
        })),
      )
      .execute();
    await db
      .insertInto('emails')
      .values(
        invitations.map((u) => ({
          id: randomUUID(),
          idempotency_key: `invitation:${u.invitationId}`,
          user_id: u.id,
          invitation_id: u.invitationId,
          type: 'user_invitation' as const,
          locale: 'de' as const,
          to_address: `user.${u.i}@example.com`,
          subject: `Einladung für ${u.username}`,
          html_redacted: '<p>Hallo, {{personal_link}}</p>',
          text_redacted: 'Hallo, {{personal_link}}',
          status: 'sent' as const,
          created_at: u.created,
          sent_at: u.created,
          message_id: `<${u.invitationId}@bench>`,
          smtp_response: '250 OK',
        })),
      )
      .execute();
    await db
      .insertInto('audit_events')
      .values(batch.map((u) => ({ actor: 'bench', action: 'user.invited', user_id: u.id, details: {}, at: u.created })))
      .execute();
  }
  const staffId = randomUUID();
  await db
    .insertInto('users')
    .values({
      id: staffId,
      username: 'bench.staff',
      username_key: 'bench.staff',
      username_skeleton: skeletonOfUsernameKey('bench.staff'),
      email: 'bench.staff@example.com',
      email_key: 'bench.staff@example.com',
      user_type: 'member',
      is_staff: true,
      locale: 'en',
      status: 'active',
      password_hash: await hashPassword(PASSWORD),
      updated_at: new Date(),
      activated_at: new Date(),
    })
    .execute();
  const some = await db.selectFrom('users').select('id').where('username', '=', `user.${Math.floor(USERS / 2)}`).executeTakeFirstOrThrow();
  const mail = await db.selectFrom('emails').select('id').where('user_id', '=', some.id).executeTakeFirstOrThrow();
  return { userId: some.id, emailId: mail.id };
}

async function main() {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.unsafe(`create database ${dbName}`);
  const database = await openDatabase({ url: Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString(), dataDir: '.data' });
  let server: ReturnType<typeof serve> | undefined;
  try {
    await migrateToLatest(database.db);
    const filled = performance.now();
    const ids = await fill(database.db);
    process.stdout.write(`filled ${USERS} users in ${((performance.now() - filled) / 1000).toFixed(1)} s\n`);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = loadConfig({ PORT: String(port), PUBLIC_BASE_URL: base, ADMIN_API_KEY: randomBytes(16).toString('hex'), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '1000000' });
    // The pages measured read only the database; none of them talks to Temporal.
    const app = createApp({ db: database.db, temporal: {} as Client, config, log: createLogger('silent'), adminKeys: [config.ADMIN_API_KEY!] });
    server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
    await new Promise((resolve) => server!.once('listening', resolve));

    const signIn = await fetch(`${base}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'accept-language': 'de' },
      body: new URLSearchParams({ login: 'bench.staff', password: PASSWORD }),
      redirect: 'manual',
    });
    if (signIn.status !== 303) throw new Error(`sign-in answered ${signIn.status}`);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;

    const pages: Array<[string, string]> = [
      ['Übersicht, first page', '/console/users'],
      ['Übersicht, search', '/console/users?q=user.77'],
      ['Übersicht, status filter', '/console/users?status=invited'],
      ['Einladen', '/console/users/invite'],
      ['Bearbeitungsansicht', `/console/users/${ids.userId}`],
      ['E-Mail > Logs', '/console/emails'],
      ['E-Mail > Logs, filtered', '/console/emails?type=user_invitation&status=sent'],
      ['E-Mail > Info', `/console/emails/${ids.emailId}`],
      ['Vorlagen', '/console/templates'],
      ['Audit-Trail', '/console/audit'],
      ['Audit-Trail, by user', `/console/audit?user=${ids.userId}`],
      // For comparison: the API's JSON of the same first page, without a page to render.
      ['(API) GET /api/v1/users', '/api/v1/users?limit=50'],
    ];
    const results: Record<string, ReturnType<typeof latencyStats>> = {};
    let failures = 0;
    for (const [name, url] of pages) {
      const samples: number[] = [];
      for (let r = 0; r < REQUESTS + 5; r++) {
        const started = performance.now();
        const res = await fetch(`${base}${url}`, { headers: { cookie, 'accept-language': 'de', authorization: `Bearer ${config.ADMIN_API_KEY}` }, redirect: 'manual' });
        await res.text();
        if (res.status !== 200) failures++;
        if (r >= 5) samples.push(performance.now() - started); // the first five warm up
      }
      results[name] = latencyStats(samples);
    }
    const rows = Object.entries(results).map(([name, s]) => [name, s!.p50, s!.p95, s!.p99, s!.max, s!.p99 < 100 ? 'yes' : 'NO']);
    process.stdout.write(`\n${table(['page (ms)', 'p50', 'p95', 'p99', 'max', 'p99 < 100'], rows)}\n`);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), machine: machineInfo(), users: USERS, requestsPerPage: REQUESTS, failures, pages: results }, null, 2));
    process.stdout.write(`\nwritten to ${out}; ${failures} requests without a 200\n`);
    process.exitCode = failures ? 1 : 0;
  } finally {
    server?.close();
    await database.close();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
