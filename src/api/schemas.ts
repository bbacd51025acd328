import { z } from '@hono/zod-openapi';
import { canonicalEmail, usernameProblem } from '../users/identity.js';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const UserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    userType: z.string(),
    isStaff: z.boolean(),
    permissions: z.array(z.string()),
    status: z.enum(['invited', 'active', 'inactive']),
    locale: z.enum(['de', 'en']),
    emailVerified: z.boolean(),
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
    lastLoginAt: z.string().nullable(),
    deactivatedAt: z.string().nullable(),
    deactivationReason: z.string().nullable(),
  })
  .openapi('User');

export const InvitationSchema = z
  .object({
    id: z.string(),
    status: z.enum(['pending', 'accepted', 'expired', 'revoked']),
    createdAt: z.string(),
    expiresAt: z.string(),
    acceptedAt: z.string().nullable(),
    expiredAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    invitedBy: z.string().nullable(),
    workflowId: z.string(),
  })
  .openapi('Invitation');

export const problem = (description: string) => ({
  content: { 'application/problem+json': { schema: ProblemSchema } },
  description,
});

export const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

export const bearer = [{ bearerAuth: [] }];

// The same rules the services apply, here too so that one 422 lists every bad field at once.
export const UsernameField = z
  .string()
  .max(200)
  .superRefine((value, ctx) => {
    const problem = usernameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const EmailField = z
  .string()
  .max(320)
  .superRefine((value, ctx) => {
    const result = canonicalEmail(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.problem });
  });

export const PermissionsField = z
  .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/, 'letters, digits, _ . : - (max 100)'))
  .max(200);

/** Free text a client sends that reaches a query: control characters never mean anything there. */
export const PlainText = (max: number) => z.string().max(max).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
