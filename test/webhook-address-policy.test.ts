import { describe, expect, it } from 'vitest';
import { isNonPublicAddress, webhookUrlProblem, type WebhookNetwork } from '../src/webhooks/address-policy.js';
import { postWebhook, WebhookSendError } from '../src/webhooks/sender.js';
import { testWebhookNetwork } from './support/harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/** The SSRF guard (docs/security.md) on its own: the address table, and the socket-level check at delivery. */
describe('which addresses webhooks may reach', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.1.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1',
    '::ffff:10.0.0.1', '64:ff9b::a00:1', 'not-an-address',
  ])('%s is not public', (ip) => {
    expect(isNonPublicAddress(ip)).toBe(true);
  });

  // Every IPv6 form that carries a refused IPv4 address is refused like that address (issue 14.5).
  it.each([
    ['IPv4-compatible', '::127.0.0.1'],
    ['IPv4-compatible, hex (how URL writes [::127.0.0.1])', '::7f00:1'],
    ['IPv4-compatible, private', '::10.1.2.3'],
    ['IPv4-translated', '::ffff:0:127.0.0.1'],
    ['IPv4-translated, hex', '::ffff:0:7f00:1'],
    ['IPv4-translated, spelled out', '0:0:0:0:ffff:0:a9fe:a9fe'],
    ['IPv4-mapped, spelled out', '0:0:0:0:0:ffff:c0a8:0101'],
    ['NAT64 well-known prefix, dotted', '64:ff9b::169.254.169.254'],
    ['NAT64 well-known prefix, hex', '64:ff9b::7f00:1'],
    ['NAT64 local-use /48', '64:ff9b:1::7f00:1'],
    ['NAT64 local-use /48, any address in it', '64:ff9b:1:ab00::8.8.8.8'],
    ['6to4 of loopback', '2002:7f00:1::1'],
    ['6to4 of a private network', '2002:c0a8:101:0:0:0:0:1'],
    ['6to4 of cloud metadata', '2002:a9fe:a9fe::'],
    ['Teredo, client 127.0.0.1 obfuscated', '2001:0:4136:e378:8000:63bf:80ff:fffe'],
    ['Teredo, server 10.0.0.1', '2001:0:a00:1::1'],
  ])('%s (%s) is not public', (_form, ip) => {
    expect(isNonPublicAddress(ip)).toBe(true);
  });

  it.each([
    '93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8',
    // Embedded public addresses stay reachable: the rule is "the IPv4 policy", not "no such prefix".
    '64:ff9b::8.8.8.8', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
  ])('%s is public', (ip) => {
    expect(isNonPublicAddress(ip)).toBe(false);
  });
});

describe('a delivery checks the address it connects to, at that moment', () => {
  const body = JSON.stringify({ type: 'user.deleted', timestamp: new Date().toISOString(), data: {} });
  const options = (network: WebhookNetwork, allowPrivate = false) => ({ allowPrivate, network, timeoutMs: 5_000 });

  it('a name that resolved to a public address when saved and resolves to 127.0.0.1 now is refused (DNS rebinding)', async () => {
    const receiver = await startWebhookReceiver();
    let lookups = 0;
    const rebinding: WebhookNetwork = { resolve: async () => (++lookups === 1 ? ['93.184.216.34'] : ['127.0.0.1']) };
    expect(await webhookUrlProblem(`http://rebind.test:${receiver.port}/hooks`, { allowPrivate: false, network: rebinding })).toBeUndefined();
    const attempt = postWebhook(`http://rebind.test:${receiver.port}/hooks`, body, {}, options(rebinding));
    await expect(attempt).rejects.toThrow(/refused: rebind.test resolves to 127.0.0.1/);
    await expect(attempt).rejects.toBeInstanceOf(WebhookSendError);
    expect(receiver.received).toHaveLength(0);

    // The same request with WEBHOOK_ALLOW_PRIVATE=true goes through: the guard is what stopped it.
    const allowed = await postWebhook(`http://rebind.test:${receiver.port}/hooks`, body, {}, options(testWebhookNetwork({ 'rebind.test': ['127.0.0.1'] }), true));
    expect(allowed.status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    await receiver.close();
  });

  it('refuses loopback literals, IPv4 and IPv6, without the flag', async () => {
    const receiver = await startWebhookReceiver();
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::127.0.0.1]', '[::ffff:0:127.0.0.1]', '[64:ff9b::127.0.0.1]', '[2002:7f00:1::1]']) {
      const url = `http://${host}:${receiver.port}/`;
      await expect(postWebhook(url, body, {}, options(testWebhookNetwork())), url).rejects.toThrow(/refused/);
    }
    expect(receiver.received).toHaveLength(0);
    await receiver.close();
  });

  it('refuses an endpoint URL whose IPv6 literal carries a refused IPv4 address', async () => {
    for (const host of ['[::127.0.0.1]', '[::ffff:0:127.0.0.1]', '[64:ff9b:1::a00:1]', '[2002:a9fe:a9fe::1]', '[2001:0:4136:e378:8000:63bf:80ff:fffe]']) {
      expect(await webhookUrlProblem(`https://${host}/hooks`, { allowPrivate: false, network: testWebhookNetwork() }), host).toMatch(/loopback, link-local or private/);
    }
  });

  it('does not follow redirects: a 3xx is the answer, and nothing is fetched from where it points', async () => {
    const receiver = await startWebhookReceiver(() => 302);
    const answer = await postWebhook(receiver.url, body, {}, options(testWebhookNetwork(), true));
    expect(answer.status).toBe(302);
    expect(receiver.received).toHaveLength(1);
    await receiver.close();
  });

  it("in tests nothing leaves the machine: the harness's network refuses public addresses even where the policy allows them", async () => {
    const network = testWebhookNetwork({ 'public.test': ['93.184.216.34'] });
    for (const url of ['http://93.184.216.34/hooks', 'https://public.test/hooks', 'http://[2606:4700:4700::1111]/']) {
      await expect(postWebhook(url, body, {}, options(network, true)), url).rejects.toMatchObject({ refused: true });
      await expect(postWebhook(url, body, {}, options(network, false)), url).rejects.toMatchObject({ refused: true });
    }
    // And names it does not know do not resolve at all (no real DNS query is made).
    await expect(postWebhook('https://example.com/', body, {}, options(network, true))).rejects.toThrow(/ENOTFOUND|does not resolve/);
  });
});
