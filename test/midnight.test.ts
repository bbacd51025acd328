import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nextLocalMidnight } from '../src/reactivation/midnight.js';

describe('the deadline of a manual reactivation is the next local midnight (R10)', () => {
  it.each([
    // reactivated at (UTC)        deadline (UTC)              why
    ['2026-11-25T12:00:00Z', '2026-11-25T23:00:00Z'], // winter, CET = UTC+1
    ['2026-07-01T12:00:00Z', '2026-07-01T22:00:00Z'], // summer, CEST = UTC+2
    ['2026-03-28T22:30:00Z', '2026-03-28T23:00:00Z'], // 23:30 CET the night before clocks go forward
    ['2026-03-29T10:00:00Z', '2026-03-29T22:00:00Z'], // the 23-hour day itself: midnight is CEST
    ['2026-03-28T23:30:00Z', '2026-03-29T22:00:00Z'], // 00:30 CET on the switch day
    ['2026-10-24T21:30:00Z', '2026-10-24T22:00:00Z'], // 23:30 CEST the night before clocks go back
    ['2026-10-25T10:00:00Z', '2026-10-25T23:00:00Z'], // the 25-hour day itself: midnight is CET
    ['2026-10-24T22:30:00Z', '2026-10-25T23:00:00Z'], // 00:30 CEST on the switch day
    ['2026-11-25T23:00:00Z', '2026-11-26T23:00:00Z'], // exactly at midnight: the next one
    ['2026-11-25T22:59:59Z', '2026-11-25T23:00:00Z'],
  ])('in Europe/Berlin, reactivated at %s → %s', (at, deadline) => {
    expect(nextLocalMidnight(new Date(at), 'Europe/Berlin').toISOString()).toBe(new Date(deadline).toISOString());
  });

  it('works in other zones too', () => {
    expect(nextLocalMidnight(new Date('2026-03-08T12:00:00Z'), 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(nextLocalMidnight(new Date('2026-06-01T12:00:00Z'), 'UTC').toISOString()).toBe('2026-06-02T00:00:00.000Z');
    expect(nextLocalMidnight(new Date('2026-06-01T12:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2026-06-01T18:30:00.000Z');
  });

  it('is always later, at most 25 hours later, and shows 00:00 on the local clock', () => {
    const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }), (at) => {
        const deadline = nextLocalMidnight(at, 'Europe/Berlin');
        expect(deadline.getTime()).toBeGreaterThan(at.getTime());
        expect(deadline.getTime() - at.getTime()).toBeLessThanOrEqual(25 * 3_600_000);
        expect(fmt.format(deadline)).toBe('00:00');
      }),
      { numRuns: 500 },
    );
  });
});
