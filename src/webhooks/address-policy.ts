import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) refused.addSubnet(net, prefix, 'ipv6');

/** An IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64), or undefined. */
function embeddedIpv4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  return undefined;
}

/** Loopback, link-local, private, shared, reserved or multicast: not a place for webhooks. */
export function isNonPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return refused.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    return v4 !== undefined ? refused.check(v4, 'ipv4') : refused.check(ip, 'ipv6');
  }
  return true; // not an address at all: never connect
}

export function isLoopbackAddress(ip: string): boolean {
  const v4 = isIP(ip) === 6 ? (embeddedIpv4(ip) ?? ip) : ip;
  return isIP(v4) === 4 ? v4.startsWith('127.') : v4 === '::1';
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
