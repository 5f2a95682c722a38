import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, isPublicAddress, URL_MAX } from './url-policy.js';

const strict = { allowPrivate: false };
const open = { allowPrivate: true };
const problemOf = (url: string, policy = strict) => {
  const checked = checkEndpointUrl(url, policy);
  return 'problem' in checked ? checked.problem : null;
};

describe('checkEndpointUrl', () => {
  it('takes a public https URL, normalized', () => {
    expect(checkEndpointUrl('  https://Hooks.Example.com/herald?x=1 ', strict)).toEqual({ url: 'https://hooks.example.com/herald?x=1' });
    expect(checkEndpointUrl('https://8.8.8.8:8443/in', strict)).toEqual({ url: 'https://8.8.8.8:8443/in' });
    expect(checkEndpointUrl('https://[2001:4860:4860::8888]/in', strict)).toEqual({ url: 'https://[2001:4860:4860::8888]/in' });
  });

  it.each([
    ['hooks.example.com/herald', /absolute http\(s\) URL/],
    ['/herald/events', /absolute http\(s\) URL/],
    ['ftp://hooks.example.com/in', /http\(s\) URL, not ftp/],
    ['javascript:alert(1)', /http\(s\) URL, not javascript/],
    ['http://hooks.example.com/in', /must use https/],
    ['https://user:pass@hooks.example.com/in', /user name or password/],
    ['https://user@hooks.example.com/in', /user name or password/],
    ['https://hooks.example.com/in#part', /fragment/],
    ['https://hooks.example.com/in#', /fragment/],
    [`https://hooks.example.com/${'a'.repeat(URL_MAX)}`, /at most 2048 characters/],
  ])('refuses %s', (url, message) => {
    expect(problemOf(url)).toMatch(message);
  });

  it.each([
    ['https://127.0.0.1/', 'loopback'],
    ['https://2130706433/', 'loopback'], // 127.0.0.1 written as a number
    ['https://0x7f.1/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://10.0.0.1/', 'private'],
    ['https://172.16.5.4/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://[fd00:ec2::254]/', 'unique-local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://100.100.100.200/', 'carrier-grade NAT'],
    ['https://224.0.0.1/', 'multicast'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://[::]/', 'unspecified'],
    ['https://255.255.255.255/', 'broadcast'],
    ['https://192.0.0.192/', 'special-purpose (reserved)'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'special-purpose (rfc6052)'], // NAT64 of 169.254.169.254
  ])('refuses the literal address of %s (%s)', (url, range) => {
    expect(problemOf(url)).toBe(
      `url must not point at a ${range} address (${new URL(url).hostname.replace(/^\[|\]$/g, '')}): Herald only posts to public addresses`,
    );
  });

  it.each([
    'https://localhost/',
    'https://LOCALHOST./in',
    'https://api.localhost/',
    'https://metadata.google.internal/',
    'https://printer.local/',
  ])('refuses the local name of %s', (url) => {
    expect(problemOf(url)).toMatch(/^url must not point at a local name \(.+\): Herald only posts to public addresses$/);
  });

  it('with HERALD_WEBHOOK_ALLOW_PRIVATE takes http, private addresses and local names, but still only absolute http(s) URLs', () => {
    for (const url of [
      'http://127.0.0.1:8080/in',
      'https://10.0.0.1/',
      'http://localhost/',
      'http://[::1]:9000/',
      'https://169.254.169.254/',
    ]) {
      expect(checkEndpointUrl(url, open), url).toEqual({ url: new URL(url).href });
    }
    expect(problemOf('ftp://127.0.0.1/', open)).toMatch(/not ftp/);
    expect(problemOf('http://user:pass@127.0.0.1/', open)).toMatch(/user name or password/);
    expect(problemOf('http://127.0.0.1/#x', open)).toMatch(/fragment/);
    expect(problemOf('/relative', open)).toMatch(/absolute/);
  });
});

describe('isPublicAddress', () => {
  it('is true for public unicast addresses only', () => {
    expect(['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'].map(isPublicAddress)).toEqual([true, true, true]);
    expect(
      ['127.0.0.1', '10.1.2.3', '169.254.169.254', 'fd00:ec2::254', '::ffff:10.0.0.1', '::1', 'not an address'].map(isPublicAddress),
    ).toEqual(Array(7).fill(false));
  });
});
