import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { decodeCursor, keysetPage } from '../paging.js';
import { isUuid } from '../users/ids.js';
import { findEmailById, listEmails, type EmailLogQuery } from './email-log.repository.js';
import { emailSummaryView, emailView } from './email.view.js';

/** The repository's query, with the client's opaque cursor in place of the decoded one. */
export type EmailLogFilter = Omit<EmailLogQuery, 'after'> & { cursor?: string | undefined };

/** The email log (R13), newest first; an unknown user id simply has no mails. */
export async function listEmailLog(deps: AppDeps, filter: EmailLogFilter) {
  if (filter.userId && !isUuid(filter.userId)) return { items: [], nextCursor: null };
  const { cursor, ...query } = filter;
  const rows = await listEmails(deps.db, { ...query, limit: filter.limit + 1, after: cursor ? decodeCursor(cursor) : undefined });
  return keysetPage(rows, filter.limit, emailSummaryView);
}

export async function getEmail(deps: AppDeps, id: string) {
  const email = isUuid(id) ? await findEmailById(deps.db, id) : undefined;
  if (!email) throw new DomainError('EmailNotFound', `No email ${id}.`);
  return emailView(email);
}
