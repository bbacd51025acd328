/**
 * `npm run keys`: fresh values for every secret the production processes check at start
 * (src/runtime.ts, processStartProblems), as lines for an env file. Every API and worker
 * process must get the same EMAIL_ENCRYPTION_KEY and TEMPORAL_PAYLOAD_KEYS.
 *
 *   npm run --silent keys >> .env
 */
import { randomBytes } from 'node:crypto';

const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
const lines = [
  '# Seals logged links and webhook secrets in the database; keep old keys after the first when rotating.',
  `EMAIL_ENCRYPTION_KEY=${randomBytes(32).toString('base64')}`,
  '# Encrypts workflow payloads in Temporal ("keyId:key"; the first one encrypts, all decrypt).',
  `TEMPORAL_PAYLOAD_KEYS=k${today}:${randomBytes(32).toString('base64')}`,
  '# Bearer key of the admin API (required by the API process in production).',
  `ADMIN_API_KEY=${randomBytes(32).toString('base64url')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
