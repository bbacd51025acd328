/** The password-reset workflow's public surface (R9, R12). */
export const passwordResetWorkflowId = (requestId: string) => `password-reset-${requestId}`;

export interface PasswordResetWorkflowInput {
  requestId: string;
  /** Canonical form of the address typed in; the mail goes to the address stored for the user. */
  emailKey: string;
  /** PASSWORD_RESET_TTL in milliseconds. */
  ttlMs: number;
}

export interface PasswordResetResult {
  /** False when no user has this address: nothing was sent, and the requester is not told. */
  mailed: boolean;
  mail: 'sent' | 'failed' | 'none';
}

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type PasswordResetWorkflow = (input: PasswordResetWorkflowInput) => Promise<PasswordResetResult>;
