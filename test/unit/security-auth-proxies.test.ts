/**
 * Whose X-Forwarded-Proto and X-Forwarded-For count: only a peer listed in
 * SHARDGATE_TRUSTED_PROXIES. The transport facts feed aws:SecureTransport, aws:SourceIp and the
 * SSE-C plain-HTTP refusal.
 */
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { gatewayConfig } from '../../gateway/config.js';
import { conditionContext, httpRequestFacts } from '../../gateway/access/request-context.js';
import { clientAddress, transportOf, TrustedProxies } from '../../gateway/access/trusted-proxies.js';
import { checkSseCTransport, isSecureTransport } from '../../gateway/s3/sse-c.js';
import { codeOf } from '../helpers/errors.js';

const trusted = TrustedProxies.parse('10.0.0.5, 10.1.0.0/16 fd00::/8,::1');

/** A request as node:http hands it over: its socket (a real one) and its headers. */
function request(peer: string, headers: Record<string, string> = {}, socket: Socket = new Socket()): Pick<IncomingMessage, 'socket' | 'headersDistinct'> {
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  return { socket, headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) };
}

describe('SHARDGATE_TRUSTED_PROXIES', () => {
  test('addresses and CIDR blocks, IPv4 and IPv6, commas or spaces; empty trusts no one', () => {
    for (const ip of ['10.0.0.5', '::ffff:10.0.0.5', '10.1.200.3', 'fd00::1', '::1']) expect(trusted.trusts(ip), ip).toBe(true);
    for (const ip of ['10.0.0.6', '10.2.0.1', 'fe80::1', '127.0.0.1', 'garbage']) expect(trusted.trusts(ip), ip).toBe(false);
    expect(trusted.trusts(undefined)).toBe(false);
    expect(TrustedProxies.parse('').empty).toBe(true);
    expect(TrustedProxies.parse(undefined).trusts('127.0.0.1')).toBe(false);
  });

  test('read from the environment by gatewayConfig; a bad entry stops the gateway with its name', () => {
    const cfg = gatewayConfig({}, { SHARDGATE_TRUSTED_PROXIES: '192.0.2.10,2001:db8::/32' }, { host: '127.0.0.1', dataDir: '/tmp/x' });
    expect([cfg.trustedProxies.trusts('192.0.2.10'), cfg.trustedProxies.trusts('2001:db8::7'), cfg.trustedProxies.trusts('192.0.2.11')]).toEqual([true, true, false]);
    expect(gatewayConfig({}, {}, { host: '127.0.0.1', dataDir: '/tmp/x' }).trustedProxies.empty).toBe(true);
    expect(() => gatewayConfig({}, { SHARDGATE_TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.300' }, { host: '127.0.0.1', dataDir: '/tmp/x' }))
      .toThrow(/SHARDGATE_TRUSTED_PROXIES: "10.0.0.300" is not an IP address or CIDR block/);
    expect(() => gatewayConfig({}, { SHARDGATE_TRUSTED_PROXIES: '10.0.0.0/33' }, { host: '127.0.0.1', dataDir: '/tmp/x' })).toThrow(/10.0.0.0\/33/);
  });
});

describe('X-Forwarded-For: the first untrusted address from the right', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7, 10.1.0.9', '203.0.113.7'], // a second trusted proxy in the chain
    ['1.1.1.1, 203.0.113.7', '203.0.113.7'], // what the client itself wrote is left of it
    ['1.1.1.1, 203.0.113.7, 10.0.0.5', '203.0.113.7'],
    ['10.1.0.1, 10.0.0.5', '10.1.0.1'], // every hop trusted: the leftmost
    ['203.0.113.7:51234', '203.0.113.7'],
    ['[2001:db8::9]:443, fd00::2', '2001:db8::9'],
    ['2001:db8::9', '2001:db8::9'],
    ['unknown, 10.0.0.5', undefined], // a hop that is not an address: unknown, never the peer
    ['203.0.113.7, garbage', undefined],
  ])('%s → %s', (header, client) => {
    expect(clientAddress(header, trusted)).toBe(client);
  });
});

describe('transport facts', () => {
  test('an untrusted peer\'s X-Forwarded-* count for nothing', () => {
    const t = transportOf(request('198.51.100.1', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }), trusted);
    expect(t).toMatchObject({ encrypted: false, remoteAddress: '198.51.100.1', forwardedProto: undefined, forwarded: true });
    expect(isSecureTransport(t)).toBe(false);
    const ctx = conditionContext({ headers: {}, query: new URLSearchParams(), transport: t, auth: null, now: new Date() }, { caller: null, action: 's3:GetObject' });
    expect([ctx.values('aws:SecureTransport'), ctx.values('aws:SourceIp')]).toEqual([['false'], ['198.51.100.1']]);
  });

  test('a trusted proxy says who the client is and whether it used TLS', () => {
    const t = transportOf(request('10.0.0.5', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '1.1.1.1, 203.0.113.7' }), trusted);
    expect(isSecureTransport(t)).toBe(true);
    const facts = httpRequestFacts(request('10.0.0.5', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '1.1.1.1, 203.0.113.7' }) as IncomingMessage, new URLSearchParams(), null, trusted);
    const ctx = conditionContext(facts, { caller: null, action: 's3:GetObject' });
    expect([ctx.values('aws:SecureTransport'), ctx.values('aws:SourceIp')]).toEqual([['true'], ['203.0.113.7']]);
    const unknown = conditionContext(httpRequestFacts(request('10.0.0.5', { 'x-forwarded-for': 'unknown' }) as IncomingMessage, new URLSearchParams(), null, trusted), { caller: null, action: 's3:GetObject' });
    expect(unknown.values('aws:SourceIp')).toBeUndefined();
    // Said plain HTTP, or one hop of the chain was: not secure, though the hop to us is TLS.
    expect(isSecureTransport(transportOf(request('10.0.0.5', { 'x-forwarded-proto': 'http' }, new TLSSocket(new Socket())), trusted))).toBe(false);
    expect(isSecureTransport(transportOf(request('10.0.0.5', { 'x-forwarded-proto': 'https, http' }), trusted))).toBe(false);
  });

  test('a TLS connection is secure transport by itself, from anyone', () => {
    const t = transportOf(request('198.51.100.1', {}, new TLSSocket(new Socket())), TrustedProxies.NONE);
    expect(t.encrypted).toBe(true);
    expect(isSecureTransport(t)).toBe(true);
    // A trusted proxy that says nothing of the protocol leaves the connection's own.
    expect(isSecureTransport(transportOf(request('10.0.0.5', { 'x-forwarded-for': '203.0.113.7' }, new TLSSocket(new Socket())), trusted))).toBe(true);
  });
});

describe('SSE-C over plain HTTP', () => {
  const key = { 'x-amz-server-side-encryption-customer-algorithm': ['AES256'] };
  const check = (peer: string, headers: Record<string, string> = {}, socket?: Socket) => codeOf(() => checkSseCTransport(key, transportOf(request(peer, headers, socket), trusted)));

  test('an untrusted peer cannot claim TLS', () => {
    expect(check('198.51.100.1', { 'x-forwarded-proto': 'https' })).toBe('InvalidRequest');
    expect(check('10.0.0.5', { 'x-forwarded-proto': 'https' })).toBe('none');
    expect(check('10.0.0.5', { 'x-forwarded-proto': 'http' })).toBe('InvalidRequest');
    expect(check('198.51.100.1', {}, new TLSSocket(new Socket()))).toBe('none');
  });

  test('loopback is exempt for a client on this machine, not for a proxy here relaying someone else', () => {
    expect(check('127.0.0.1')).toBe('none');
    expect(check('::1')).toBe('none');
    expect(check('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' })).toBe('InvalidRequest');
    expect(check('127.0.0.1', { 'x-forwarded-proto': 'https' })).toBe('InvalidRequest');
    // ::1 is trusted here: a local TLS proxy that says https is believed.
    expect(check('::1', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' })).toBe('none');
    expect(check('::1', { 'x-forwarded-proto': 'http', 'x-forwarded-for': '203.0.113.7' })).toBe('InvalidRequest');
  });
});
