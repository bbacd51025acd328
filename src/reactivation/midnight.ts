/**
 * "Midnight" for R10: the next local midnight in the platform's time zone, as an absolute
 * instant, computed once. Correct on the days clocks change, because the zone's offset is
 * looked up for the midnight itself, not for the moment of the request.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(instantMs: number, timeZone: string) {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(instantMs).map((p) => [p.type, p.value]));
  return { y: +parts.year!, m: +parts.month!, d: +parts.day!, h: +parts.hour!, min: +parts.minute!, s: +parts.second! };
}

/** Local time minus UTC, in ms, at the given instant. */
function offsetAt(instantMs: number, timeZone: string): number {
  const p = localParts(instantMs, timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s) - Math.floor(instantMs / 1000) * 1000;
}

const dateKey = (p: { y: number; m: number; d: number }) => p.y * 10_000 + p.m * 100 + p.d;

/**
 * The start of the next local day: the first instant whose local date is tomorrow's. Where
 * clocks jump at midnight (America/Santiago, America/Havana) 00:00 does not exist and the
 * day starts at 01:00; where they fall back at midnight it is the first of the two 00:00.
 */
export function nextLocalMidnight(from: Date, timeZone: string): Date {
  const now = from.getTime();
  const t = localParts(now, timeZone);
  const today = dateKey(t);
  const wallMidnight = Date.UTC(t.y, t.m - 1, t.d + 1); // tomorrow 00:00 "as if UTC"
  // Candidate from the offset at the wall-clock midnight, two rounds for DST days.
  let instant = wallMidnight - offsetAt(wallMidnight, timeZone);
  instant = wallMidnight - offsetAt(instant, timeZone);
  const isStart = (ms: number) =>
    ms > now && dateKey(localParts(ms, timeZone)) > today && dateKey(localParts(ms - 1, timeZone)) === today;
  if (isStart(instant)) return new Date(instant);
  // The candidate missed (no 00:00 that day, or it fell on the wrong side of a jump): bisect
  // to the millisecond for the first instant after `now` with a later local date.
  let lo = now; // local date is today
  let hi = now + 48 * 3_600_000; // local date is later
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dateKey(localParts(mid, timeZone)) > today) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

