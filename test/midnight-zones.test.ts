import { describe, expect, it } from 'vitest';
import { nextLocalMidnight } from '../src/reactivation/midnight.js';

// Every zone, every day of 2026–2030: the deadline is the start of the next local day, even
// where clocks change AT midnight (America/Santiago, America/Havana) and 00:00 does not exist.
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function localDate(ms: number, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, f);
  }
  return f.format(ms);
}
const nextDate = (iso: string) => new Date(Date.parse(`${iso}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

describe('a manual reactivation holds until the start of the next local day in every zone (R10)', () => {
  it('is later than now, has tomorrow’s date, and no earlier instant has it', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const end = Date.parse('2031-01-01T00:00:00Z');
    const failures: string[] = [];
    for (const zone of Intl.supportedValuesOf('timeZone')) {
      // One instant per day, its hour rotating through the day so every zone and every day is
      // covered and, across days, early, midday and late local times are all sampled.
      for (let day = start, i = 0; day < end; day += 86_400_000, i++) {
        const now = day + ((i * 7) % 24) * 3_600_000 + 30_000;
        const deadline = nextLocalMidnight(new Date(now), zone).getTime();
        const today = localDate(now, zone);
        if (!(deadline > now) || localDate(deadline, zone) !== nextDate(today) || localDate(deadline - 1, zone) !== today) {
          failures.push(`${zone} ${new Date(now).toISOString()} → ${new Date(deadline).toISOString()}`);
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
  }, 180_000); // ~24 s on an idle 2-core box; far more while other suites share it
});
