import { describe, expect, it } from 'vitest';
import { clientAddressFrom, proxyTrustFunction } from '../src/api/rate-limits.js';
import { ConfigError, loadConfig } from '../src/config.js';

// Header values and socket addresses only: nothing here is ever contacted.
const trust = (value: string | undefined) => proxyTrustFunction(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY);
const client = (value: string | undefined, socket: string | undefined, forwardedFor?: string) => clientAddressFrom(socket, forwardedFor, trust(value));

describe('TRUST_PROXY: whose X-Forwarded-For entries are believed', () => {
  it('by default none: the socket address is the client, whatever the header says', () => {
    expect(client(undefined, '198.51.100.4', '203.0.113.9')).toBe('198.51.100.4');
    expect(client('false', '198.51.100.4', '203.0.113.9')).toBe('198.51.100.4');
    expect(client('0', '198.51.100.4', '203.0.113.9')).toBe('198.51.100.4');
  });

  it('"true" is one hop: the address our proxy saw, not the leftmost entry the client wrote', () => {
    expect(client('true', '10.0.0.2', '172.16.0.1, 203.0.113.7')).toBe('203.0.113.7');
    expect(client('1', '10.0.0.2', '172.16.0.1, 203.0.113.7')).toBe('203.0.113.7');
    // Without the header, the proxy itself is the client.
    expect(client('1', '10.0.0.2')).toBe('10.0.0.2');
  });

  it('a hop count walks that many proxies back', () => {
    expect(client('2', '10.0.0.2', '172.16.0.1, 203.0.113.7, 10.0.0.9')).toBe('203.0.113.7');
    expect(client('2', '10.0.0.2', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('a list of proxies believes only entries added by them', () => {
    const proxies = 'loopback, 10.0.0.0/8';
    expect(client(proxies, '127.0.0.1', '172.16.0.1, 203.0.113.7, 10.1.2.3')).toBe('203.0.113.7');
    // A direct connection from outside the list: the header is the client's own writing.
    expect(client(proxies, '198.51.100.4', '203.0.113.7')).toBe('198.51.100.4');
    expect(client('127.0.0.1', '127.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('a bad value is reported with every other bad variable at start', () => {
    let error: unknown;
    try {
      loadConfig({ TRUST_PROXY: 'yes please', PORT: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^TRUST_PROXY: .*hop count/m);
    expect(problems).toMatch(/^PORT: /m);
  });
});
