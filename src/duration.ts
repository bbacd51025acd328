/**
 * Parses the durations operators write in configuration ("28 days", "15s", "2 hours",
 * "1500ms"). Returns milliseconds, or undefined when the text is not a duration.
 * Kept free of Node APIs so workflow code may import it.
 */
const units: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

export function parseDuration(text: string): number | undefined {
  const normalized = text.trim().toLowerCase();
  // The whole text must be "<number> <unit>" pairs, e.g. "1 day 12 hours".
  if (!/^(\d+(\.\d+)?\s*[a-z]+\s*)+$/.test(normalized)) return undefined;
  // Checked above, so the tokens alternate: a number, then its unit. (One pattern per token:
  // `(\d+…)\s*([a-z]+)` would rescan each run of digits from every digit in it.)
  const tokens = normalized.match(/\d+(?:\.\d+)?|[a-z]+/g)!;
  let total = 0;
  for (let t = 0; t < tokens.length; t += 2) {
    const amount = tokens[t]!;
    const factor = units[tokens[t + 1]!];
    if (factor === undefined) return undefined;
    total += Number(amount) * factor;
  }
  return Math.round(total);
}
