import { isUtf8 } from 'node:buffer';
import { CsvError, parse } from 'csv-parse/sync';
import { DomainError } from '../errors.js';
import { BULK_MAX_ROWS, BULK_COLUMNS, type BulkColumn, type SubmittedRow } from './rows.js';

/**
 * The charsets a CSV may declare (`text/csv; charset=…`), by their lower-case label, and the
 * decoder each is read with. Spreadsheets on Windows in Western Europe save Windows-1252 and
 * call it ISO-8859-1 or Latin-1; as in browsers (WHATWG Encoding), those labels decode as
 * Windows-1252, which differs from ISO-8859-1 only in C1 controls no name or address holds.
 */
const CSV_CHARSETS: Record<string, 'utf-8' | 'windows-1252'> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  'iso-8859-1': 'windows-1252',
  'iso8859-1': 'windows-1252',
  latin1: 'windows-1252',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};
export const csvCharsets = Object.keys(CSV_CHARSETS);

export const unsupportedCsvCharset = (charset: string) =>
  new DomainError('UnsupportedMediaType', `The CSV declares charset=${charset}; send it as UTF-8, or declare one of ${csvCharsets.join(', ')}.`);

/** Whether a declared charset can be read; undefined (none declared) means UTF-8. */
export function isSupportedCsvCharset(charset: string | undefined): boolean {
  return charset === undefined || Object.hasOwn(CSV_CHARSETS, charset.toLowerCase());
}

/**
 * The CSV's bytes as text, in the charset it declares (UTF-8 when it declares none). Bytes that
 * are not UTF-8 where UTF-8 is meant are refused with the line they are on, instead of becoming
 * replacement characters that fail later as a misleading "invalid username".
 */
export function decodeBulkCsv(bytes: Uint8Array, charset: string | undefined): string {
  const encoding = CSV_CHARSETS[(charset ?? 'utf-8').toLowerCase()];
  if (!encoding) throw unsupportedCsvCharset(charset!);
  const text = new TextDecoder(encoding).decode(bytes);
  if (encoding === 'utf-8' && !isUtf8(bytes)) {
    const before = text.slice(0, text.indexOf('\uFFFD'));
    let line = 1;
    for (const char of before) if (char === '\n') line++;
    throw csvProblem(
      `The CSV is not UTF-8 (line ${line})${charset ? '' : ' and declares no other charset'}: save it as UTF-8, or send it as text/csv; charset=windows-1252 (or iso-8859-1) if that is what it is.`,
    );
  }
  return text;
}

/**
 * A bulk invitation sent as CSV (RFC 4180, parsed by csv-parse): a header row naming the
 * columns, then one invitee per record. Comma or semicolon (spreadsheets in German locales
 * write `;`), detected from the header, which has only known names and so no quoting
 * ambiguity. A UTF-8 BOM, CRLF line ends, quoted fields (with "" for a quote and line
 * breaks inside), spaces around fields, blank lines and lines of only separators are all
 * accepted. Each record keeps the line it starts on, to point into the file.
 *
 * A file that cannot be read as CSV at all (an unclosed quote, an unknown or missing
 * column) is refused as a whole; a record that is merely wrong (too many fields, a bad
 * value) becomes a failed row and stops nothing else.
 */
export function parseBulkCsv(text: string): SubmittedRow[] {
  // CRLF becomes LF first: csv-parse miscounts lines after a CRLF blank line, and a line
  // break inside a field is never a valid value anyway.
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const headerLine = normalised.slice(0, normalised.indexOf('\n') === -1 ? undefined : normalised.indexOf('\n'));
  const delimiter = headerLine.includes(';') && !headerLine.includes(',') ? ';' : ',';
  let records: Array<{ record: string[]; raw: string; info: { lines: number } }>;
  try {
    records = parse(normalised, {
      delimiter,
      info: true,
      raw: true,
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      relax_column_count: true,
      // Bounded anyway by the body limit; this keeps one runaway quoted field from being "a row".
      max_record_size: 64 * 1024,
    }) as unknown as typeof records;
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      throw csvProblem(`The CSV cannot be read${line ? ` (line ${line})` : ''}: ${error.message.replace(/^Invalid Record Length: |\.$/g, '')}.`);
    }
    throw error;
  }
  if (records.length === 0) throw csvProblem('The CSV is empty: send a header row (username,email,userType,…) and one row per invitee.');

  const columns = headerColumns(records[0]!.record);
  const data = records.slice(1);
  if (data.length === 0) throw csvProblem('The CSV has a header but no rows.', 'rows', 'must have at least 1 row');
  if (data.length > BULK_MAX_ROWS) throw tooManyRows(data.length);

  return data.map(({ record, raw, info }, index) => {
    const inside = raw.replace(/^\n+/, '').replace(/\n$/, '');
    const line = info.lines - (inside.match(/\n/g)?.length ?? 0);
    const values: Partial<Record<BulkColumn, string>> = {};
    columns.forEach((column, i) => {
      if (record[i] !== undefined && record[i] !== '') values[column] = record[i];
    });
    const fieldCountProblem =
      record.length === columns.length ? undefined : `has ${record.length} field${record.length === 1 ? '' : 's'}, the header ${columns.length}`;
    return { row: index + 1, line, values: fromCsvValues(values), ...(fieldCountProblem ? { structureProblem: fieldCountProblem } : {}) };
  });
}

function headerColumns(header: string[]): BulkColumn[] {
  const known = new Map(BULK_COLUMNS.map((c) => [c.toLowerCase(), c]));
  const columns: BulkColumn[] = [];
  for (const name of header) {
    const column = known.get(name.toLowerCase());
    if (!column) {
      throw csvProblem(`The header names an unknown column "${name.slice(0, 40)}"; the columns are ${BULK_COLUMNS.join(', ')}.`, `header/${name.slice(0, 40)}`, 'unknown column');
    }
    if (columns.includes(column)) throw csvProblem(`The header names the column "${column}" twice.`, `header/${column}`, 'named twice');
    columns.push(column);
  }
  const missing = (['username', 'email', 'userType'] as const).filter((c) => !columns.includes(c));
  if (missing.length) {
    throw new DomainError('ValidationFailed', `The header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`, {
      errors: missing.map((c) => ({ field: `header/${c}`, message: 'is required' })),
    });
  }
  return columns;
}

/** CSV has only text: `isStaff` as true/false (yes/no, 1/0), `permissions` separated by spaces. */
function fromCsvValues(values: Partial<Record<BulkColumn, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = { username: values.username ?? '', email: values.email ?? '', userType: values.userType ?? '' };
  if (values.isStaff !== undefined) {
    const flag = values.isStaff.toLowerCase();
    out.isStaff = ['true', 'yes', '1'].includes(flag) ? true : ['false', 'no', '0'].includes(flag) ? false : values.isStaff;
  }
  if (values.permissions !== undefined) out.permissions = values.permissions.split(/\s+/).filter(Boolean);
  if (values.locale !== undefined) out.locale = values.locale;
  return out;
}

const csvProblem = (detail: string, field = '(body)', message = detail) => new DomainError('ValidationFailed', detail, { errors: [{ field, message }] });

export const tooManyRows = (count: number) =>
  new DomainError('ValidationFailed', `The file has ${count} rows; a bulk invitation takes at most ${BULK_MAX_ROWS}. Split it into several.`, {
    errors: [{ field: 'rows', message: `must have at most ${BULK_MAX_ROWS} rows` }],
  });
