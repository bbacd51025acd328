import { z } from '@hono/zod-openapi';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/events.js';
import { PlainText, Timestamp, Uuid } from '../schemas.js';

const EventType = z.enum(WEBHOOK_EVENT_TYPES);

export const WebhookUrl = z
  .string()
  .max(2048)
  .regex(/^[Hh][Tt][Tt][Pp][Ss]?:\/\/\S+$/, 'must be an absolute http or https URL')
  .openapi({
    format: 'uri',
    description:
      'http or https. Loopback, link-local and private addresses (also when the host name resolves to one, checked again at each delivery) and localhost are refused unless WEBHOOK_ALLOW_PRIVATE=true',
  });

const Secret = z
  .string()
  .max(100)
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .openapi({ description: 'Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes. Generated when not given' });

const Events = z
  .array(EventType)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length * 2)
  .openapi({ description: 'The events this endpoint receives' });

export const WebhookEndpointSchema = z
  .object({
    id: Uuid,
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(EventType),
    status: z.enum(['enabled', 'disabled']).openapi({ description: 'disabled: by staff, or because every attempt failed for WEBHOOK_RETRY_WINDOW (3 days)' }),
    failingSince: Timestamp.nullable().openapi({ description: 'Start of the current run of failed attempts; null after a success' }),
    disabledAt: Timestamp.nullable(),
    disabledReason: z.string().nullable(),
    previousSecretExpiresAt: Timestamp.nullable().openapi({
      description: 'After a rotation: until then the replaced secret signs too (a second signature on each delivery); null when only the current secret signs',
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('WebhookEndpoint');

export const WebhookEndpointWithSecret = WebhookEndpointSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret, shown in this answer only' }),
}).openapi('WebhookEndpointWithSecret');

export const WebhookEndpointEdited = WebhookEndpointSchema.extend({
  secret: z.string().optional().openapi({ description: 'The new secret when it was changed or rotated, shown in this answer only' }),
}).openapi('WebhookEndpointEdited');

export const NewWebhookEndpoint = z
  .object({
    url: WebhookUrl,
    events: Events,
    description: PlainText(500).optional(),
    secret: Secret.optional(),
  })
  .strict()
  .openapi('NewWebhookEndpoint');

export const WebhookEndpointEdit = z
  .object({
    url: WebhookUrl.optional(),
    events: Events.optional(),
    description: PlainText(500).nullable().optional(),
    secret: Secret.optional(),
    rotateSecret: z.boolean().optional().openapi({
      description: 'true: generate a new secret (shown in the answer once). The replaced secret keeps signing beside it for WEBHOOK_SECRET_OVERLAP (24 hours by default)',
    }),
    expirePreviousSecret: z.boolean().optional().openapi({
      description: 'true: the replaced secret stops signing now. With rotateSecret or secret: no overlap at all (after a leak)',
    }),
    status: z.enum(['enabled', 'disabled']).optional().openapi({ description: 'enabled again starts a fresh failure count' }),
  })
  .strict()
  .refine((edit) => Object.keys(edit).length > 0, { message: 'name at least one field to change', path: [] })
  .openapi('WebhookEndpointEdit', { minProperties: 1 });

export const WebhookDeliverySchema = z
  .object({
    id: Uuid,
    eventId: Uuid.openapi({ description: 'Sent as the webhook-id header; the same on every attempt and redelivery' }),
    eventType: z.string(),
    userId: Uuid,
    sequence: z.number().int().openapi({ description: "The event's number among the user's events (1, 2, …)" }),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    createdAt: Timestamp,
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable(),
    deliveredAt: Timestamp.nullable(),
    lastResponseStatus: z.number().int().nullable().openapi({ description: "The receiver's last HTTP status" }),
    lastResponseBody: z.string().nullable().openapi({ description: 'The start (up to 1 KiB) of its last answer' }),
    lastError: z.string().nullable().openapi({ description: 'Why the last attempt got no answer, or why the delivery stopped' }),
    redeliveryOf: Uuid.nullable(),
  })
  .openapi('WebhookDelivery');

export const WebhookTestResult = z
  .object({
    eventId: Uuid.openapi({ description: 'The webhook-id the test event carried' }),
    delivered: z.boolean().openapi({ description: 'The receiver answered 2xx within WEBHOOK_TIMEOUT' }),
    status: z.number().int().nullable().openapi({ description: "The receiver's HTTP status; null when there was no answer" }),
    responseBody: z.string().nullable().openapi({ description: 'The start (up to 1 KiB) of its answer' }),
    error: z.string().nullable().openapi({ description: 'Why there was no answer: refused address, no connection, deadline' }),
    durationMs: z.number().int(),
    signatures: z.number().int().openapi({ description: 'Signatures in webhook-signature: 2 while a replaced secret still signs' }),
  })
  .openapi('WebhookTestResult');

export const PageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional().openapi({ description: 'nextCursor of the previous page' }),
  })
  .strict();
