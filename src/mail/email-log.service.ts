import type { AppDeps } from '../deps.js';
import type { EmailStatus, EmailType } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { decodeCursor, keysetPage } from '../paging.js';
import { isUuid } from '../users/ids.js';
import { findEmailById, listEmails } from './email-log.repository.js';
import { emailSummaryView, emailView } from './email.view.js';

export interface EmailLogFilter {
  userId?: string | undefined;
  type?: EmailType | undefined;
  status?: EmailStatus | undefined;
  to?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** The email log (R13), newest first; an unknown user id simply has no mails. */
export async function listEmailLog(deps: AppDeps, filter: EmailLogFilter) {
  if (filter.userId && !isUuid(filter.userId)) return { items: [], nextCursor: null };
  const rows = await listEmails(deps.db, {
    userId: filter.userId,
    type: filter.type,
    status: filter.status,
    to: filter.to,
    since: filter.since,
    until: filter.until,
    limit: filter.limit + 1,
    after: filter.cursor ? decodeCursor(filter.cursor) : undefined,
  });
  return keysetPage(rows, filter.limit, emailSummaryView);
}

export async function getEmail(deps: AppDeps, id: string) {
  const email = isUuid(id) ? await findEmailById(deps.db, id) : undefined;
  if (!email) throw new DomainError('EmailNotFound', `No email ${id}.`);
  return emailView(email);
}
