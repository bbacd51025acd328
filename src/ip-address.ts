/**
 * The eight 16-bit groups of an IPv6 address that `isIPv6` already accepted (`::` expanded, a
 * trailing dotted IPv4 read, a zone id dropped). Index arithmetic, not patterns: lint
 * (regexp/no-super-linear-move) keeps src/ linear. Used by the rate limits' client buckets and
 * the webhooks' address policy.
 */
export function ipv6Groups(ip: string): number[] {
  const zone = ip.indexOf('%');
  let text = (zone === -1 ? ip : ip.slice(0, zone)).toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
