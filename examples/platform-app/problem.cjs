// CommonJS: a bad request answers a typed problem document (RFC 9457), not an exception.
//   API_URL=http://localhost:3000 ADMIN_API_KEY=… node problem.cjs
const process = require('node:process');
const { createPlatformClient } = require('@invitations/client');

const client = createPlatformClient({ baseUrl: process.env.API_URL || 'http://localhost:3000', apiKey: process.env.ADMIN_API_KEY || '' });
client
  .POST('/api/v1/invitations', { body: { username: 'has@sign', email: 'not-an-address', userType: 'member' } })
  .then(({ error, response }) => {
    process.stdout.write(`${JSON.stringify({ status: response.status, problemStatus: error && error.status, fields: error && error.errors ? error.errors.map((e) => e.field) : [] })}\n`);
  })
  .catch((err) => {
    process.stderr.write(`${err}\n`);
    process.exit(1);
  });
