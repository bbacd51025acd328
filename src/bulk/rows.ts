import type { FailureType, FieldError } from '../errors.js';
import type { InviteCommand } from '../invitations/invitation.service.js';

/** A bulk invitation takes at most this many rows; more is a 422 naming the count. */
export const BULK_MAX_ROWS = 1000;

/** The fields of a row: the single invitation's fields, and the CSV header's column names. */
export const BULK_COLUMNS = ['username', 'email', 'userType', 'isStaff', 'permissions', 'locale'] as const;
export type BulkColumn = (typeof BULK_COLUMNS)[number];

/** A row as it came in, before its values are checked. */
export interface SubmittedRow {
  /** 1 = the first row after the header (CSV) or the first element of `rows` (JSON). */
  row: number;
  /** CSV: the line of the file the record starts on (the header is line 1). */
  line?: number;
  values: Record<string, unknown>;
  /** CSV: the record is malformed as a record (too many or too few fields). */
  structureProblem?: string;
}

/** Why a row was not invited: a failure type of src/errors.ts, mapped to a problem document at the edge. */
export interface RowFailure {
  type: FailureType;
  detail: string;
  errors?: FieldError[];
  /** DuplicateInBatch: the earlier row it repeats. */
  duplicateOf?: number;
}

/** What the answer shows of a row: what was sent, made storable (no NUL) and bounded. */
export interface RowEcho {
  username: string;
  email: string;
  userType: string;
  isStaff: boolean;
  permissions: string[];
  locale: string;
}

/** A row after the checks that need no database: either an invitation to make or a failure. */
export type CheckedRow = { row: number; line: number | null; echo: RowEcho } & ({ command: InviteCommand; failure?: undefined } | { command?: undefined; failure: RowFailure });

// eslint-disable-next-line no-control-regex
const storable = (value: unknown, max = 320) => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value)).replace(/[\u0000-\u001F\u007F]/g, '\uFFFD').slice(0, max);

export function echoOf(values: Record<string, unknown>, defaultLocale: string): RowEcho {
  return {
    username: storable(values.username),
    email: storable(values.email),
    userType: storable(values.userType, 100),
    isStaff: values.isStaff === true,
    permissions: Array.isArray(values.permissions) ? values.permissions.slice(0, 200).map((p) => storable(p, 100)) : [],
    locale: typeof values.locale === 'string' ? storable(values.locale, 20) : defaultLocale,
  };
}
