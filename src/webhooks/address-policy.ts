import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ipv6Groups } from '../ip-address.js';

/**
 * SSRF guard (docs/security.md): a webhook may only reach public addresses, unless
 * WEBHOOK_ALLOW_PRIVATE=true. Checked when an endpoint is saved and again, on the addresses
 * actually connected to, at every delivery (a name may resolve elsewhere by then: DNS rebinding).
 */
const refused = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) refused.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  // NAT64 local-use (RFC 8215): where the IPv4 address sits depends on the operator's prefix
  // length, so there is nothing to check it against; refused outright.
  ['64:ff9b:1::', 48],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) refused.addSubnet(net, prefix, 'ipv6');

const v4 = (high: number, low: number) => [high >>> 8, high & 255, low >>> 8, low & 255].join('.');

/**
 * Every IPv4 address an IPv6 one carries, by the prefixes that route to or translate into
 * IPv4 (RFC 4291, 6052, 6145, 3056, 4380). Rather than refusing those prefixes outright, the
 * embedded address goes through the IPv4 table: `64:ff9b::8.8.8.8` stays as reachable as
 * 8.8.8.8, `[::127.0.0.1]` is as refused as 127.0.0.1.
 */
export function embeddedIpv4(ip: string): string[] {
  const g = ipv6Groups(ip);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const last = v4(g[6]!, g[7]!);
  if (zero(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return [last]; // ::/96 compatible, ::ffff:0:0/96 mapped
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return [last]; // ::ffff:0:0:0/96 translated
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return [last]; // NAT64 well-known /96
  if (g[0] === 0x2002) return [v4(g[1]!, g[2]!)]; // 6to4
  if (g[0] === 0x2001 && g[1] === 0) return [v4(g[2]!, g[3]!), v4(g[6]! ^ 0xffff, g[7]! ^ 0xffff)]; // Teredo: server, and client obfuscated
  return [];
}

/** Loopback, link-local, private, shared, reserved or multicast: not a place for webhooks. */
export function isNonPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return refused.check(ip, 'ipv4');
  if (family === 6) {
    const carried = embeddedIpv4(ip);
    return carried.length > 0 ? carried.some((a) => refused.check(a, 'ipv4')) : refused.check(ip, 'ipv6');
  }
  return true; // not an address at all: never connect
}

export function isLoopbackAddress(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith('127.');
  if (isIP(ip) !== 6) return false;
  const groups = ipv6Groups(ip);
  if (groups.every((x, i) => x === (i === 7 ? 1 : 0))) return true; // ::1 (which would read as ::0.0.0.1)
  const carried = embeddedIpv4(ip);
  return carried.length > 0 && carried.every((a) => a.startsWith('127.'));
}

/** Resolves a host name to all its addresses (injected, so tests never ask real DNS). */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export interface WebhookNetwork {
  resolve: HostResolver;
  /**
   * A last word on every address a delivery would connect to, on top of the policy. Tests
   * pass "loopback only", so nothing a test (or the contract fuzzer) saves can leave the box.
   */
  mayConnect?: (address: string) => boolean;
}

export const systemNetwork: WebhookNetwork = { resolve: systemResolver };

/** The host of a URL as an address or name, without IPv6 brackets or a trailing dot. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

const isLocalhostName = (host: string) => {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain' || h === 'ip6-localhost' || h === 'ip6-loopback';
};

/**
 * Why this URL may not receive webhooks, or undefined if it may. Only http(s), no
 * credentials in the URL, and (unless allowPrivate) a host that is, or resolves only to,
 * public addresses. A name that does not resolve is refused too: it cannot be checked.
 */
export async function webhookUrlProblem(raw: string, options: { allowPrivate: boolean; network: WebhookNetwork }): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash) return 'must not contain a fragment';
  if (options.allowPrivate) return undefined;
  const host = hostOf(url);
  if (isLocalhostName(host)) return 'must not point to localhost (set WEBHOOK_ALLOW_PRIVATE=true to allow private addresses)';
  const addresses = isIP(host) ? [host] : await options.network.resolve(host).catch(() => []);
  if (addresses.length === 0) return `the host ${host} does not resolve`;
  const bad = addresses.find(isNonPublicAddress);
  if (bad) return `resolves to ${bad}, a loopback, link-local or private address (set WEBHOOK_ALLOW_PRIVATE=true to allow them)`;
  return undefined;
}
