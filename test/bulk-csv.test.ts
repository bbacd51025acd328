import { describe, expect, it } from 'vitest';
import { parseBulkCsv } from '../src/bulk/csv.js';
import { DomainError } from '../src/errors.js';
import { testConfig } from './support/harness.js';

/** Reading a bulk invitation's CSV: what spreadsheets write, and where each record starts. */
describe('the bulk CSV reader', () => {
  it('reads quoted fields with quotes, separators and line breaks inside, and keeps the line each record starts on', () => {
    const rows = parseBulkCsv('Username,EMAIL,userType,isStaff,permissions,locale\n"a""b",a@example.com,member,,,\n"multi\nline",m@example.com,member,No,"x:read  y:write",en\nc,c@example.com,member,1,,\n');
    expect(rows).toEqual([
      { row: 1, line: 2, values: { username: 'a"b', email: 'a@example.com', userType: 'member' } },
      { row: 2, line: 3, values: { username: 'multi\nline', email: 'm@example.com', userType: 'member', isStaff: false, permissions: ['x:read', 'y:write'], locale: 'en' } },
      { row: 3, line: 5, values: { username: 'c', email: 'c@example.com', userType: 'member', isStaff: true } },
    ]);
  });

  it('takes semicolons when the header has them, skips blank lines and lines of only separators, trims fields', () => {
    const rows = parseBulkCsv('\uFEFFemail;username;userType\r\n\r\n;;\r\n b@example.com ; bob ;member\r\n');
    expect(rows).toEqual([{ row: 1, line: 4, values: { username: 'bob', email: 'b@example.com', userType: 'member' } }]);
  });

  it('marks a record with the wrong number of fields, and leaves a value it cannot read for the row check', () => {
    const rows = parseBulkCsv('username,email,userType\nbob,bob@example.com\nann,ann@example.com,member,extra\n');
    expect(rows.map((r) => r.structureProblem)).toEqual(['has 2 fields, the header 3', 'has 4 fields, the header 3']);
    expect(parseBulkCsv('username,email,userType,isStaff\nbob,bob@example.com,member,maybe\n')[0]!.values.isStaff).toBe('maybe');
  });

  it('refuses as a whole what cannot be read as a file of invitations', () => {
    const problem = (text: string) => {
      try {
        parseBulkCsv(text);
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        return (error as DomainError).message;
      }
      throw new Error('no problem');
    };
    expect(problem('username,email,userType,email\n')).toMatch(/"email" twice/);
    expect(problem('username,email,userType\n"open,x@example.com,member\n')).toMatch(/cannot be read \(line 2\)/);
    expect(problem(`username,email,userType\n${'a,a@example.com,member\n'.repeat(1001)}`)).toMatch(/1001 rows; .* at most 1000/);
  });
});

describe('BULK_INVITES_PER_SECOND', () => {
  it('defaults to 5, takes fractions, and refuses what is not a positive rate', () => {
    expect(testConfig().BULK_INVITES_PER_SECOND).toBe(5);
    expect(testConfig({ BULK_INVITES_PER_SECOND: '0.5' }).BULK_INVITES_PER_SECOND).toBe(0.5);
    for (const bad of ['0', '-1', 'fast', '5000']) expect(() => testConfig({ BULK_INVITES_PER_SECOND: bad }), bad).toThrow(/BULK_INVITES_PER_SECOND/);
  });
});
