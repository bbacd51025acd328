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

/** The first instant strictly after `from` at which the local wall clock shows 00:00. */
export function nextLocalMidnight(from: Date, timeZone: string): Date {
  const today = localParts(from.getTime(), timeZone);
  const wallMidnight = Date.UTC(today.y, today.m - 1, today.d + 1); // tomorrow 00:00 "as if UTC"
  // Two rounds settle the offset even when it differs between now and midnight (DST days).
  let instant = wallMidnight - offsetAt(wallMidnight, timeZone);
  instant = wallMidnight - offsetAt(instant, timeZone);
  return new Date(instant);
}
