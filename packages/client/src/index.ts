import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

/**
 * The platform's typed client for this service: every path, parameter, body and answer
 * (problem documents included) typed from the OpenAPI document (src/schema.ts, made by the
 * service's `npm run client:generate`), the calls made by openapi-fetch. Each call answers
 * `{ data, error, response }`: `data` for a 2xx, `error` (an RFC 9457 problem) otherwise.
 */
export type { components, operations, paths };
export type Schemas = components['schemas'];
export type PlatformClient = Client<paths>;

export interface PlatformClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  /** Where the service is, e.g. https://invitations.example.com (without /api/v1). */
  baseUrl: string;
  /** The admin key (ADMIN_API_KEY); public endpoints ignore it. */
  apiKey: string;
  /** Who acts, for the audit trail (X-Actor), e.g. "staff:anna"; a call may set its own. */
  actor?: string;
}

export function createPlatformClient({ baseUrl, apiKey, actor, ...options }: PlatformClientOptions): PlatformClient {
  return createClient<paths>({
    ...options,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${apiKey}`, ...(actor ? { 'x-actor': actorHeaderValue(actor) } : {}) },
  });
}

/** X-Actor is read as UTF-8 percent-encoding: plain ASCII names go as they are, others (and a literal %) encoded. */
export const actorHeaderValue = (actor: string) => (/^[\x20-\x24\x26-\x7e]*$/.test(actor) ? actor : encodeURIComponent(actor));
