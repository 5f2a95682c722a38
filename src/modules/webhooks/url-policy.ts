// Which URLs an event-webhook endpoint may have. Herald posts to them from inside the
// operator's network, so an endpoint must not be a way to reach that network (SSRF): the
// URL is public https unless HERALD_WEBHOOK_ALLOW_PRIVATE says otherwise.
//
// Only what the URL itself says is checked here. A hostname can resolve to anything, and
// to something else tomorrow, so the addresses it resolves to are checked again at every
// delivery, with the same `isPublicAddress`.
import ipaddr from 'ipaddr.js';

export const URL_MAX = 2_048;

export interface UrlPolicy {
  /** HERALD_WEBHOOK_ALLOW_PRIVATE: plain http, private addresses and local names allowed. */
  allowPrivate: boolean;
}

const LOCAL_SUFFIXES = ['.localhost', '.internal', '.local'];

/**
 * True for an address on the public internet. ipaddr.js names every special-purpose range
 * (private, loopback, link-local with 169.254.169.254, unique-local with fd00:ec2::254,
 * CGNAT, multicast, unspecified, reserved, NAT64 and 6to4 that can embed any IPv4…);
 * anything but plain unicast is refused, and an IPv4-mapped IPv6 address is judged as the
 * IPv4 address it carries.
 */
export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}

function addressRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return null;
  return ipaddr.process(address).range();
}

/** The URL as Herald stores it (normalized), or why it is refused. */
export function checkEndpointUrl(raw: string, policy: UrlPolicy): { url: string } | { problem: string } {
  const input = raw.trim();
  if (input.length > URL_MAX) return { problem: `url must be at most ${URL_MAX} characters` };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { problem: 'url must be an absolute http(s) URL, e.g. https://hooks.example.com/herald' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: `url must be an http(s) URL, not ${url.protocol.slice(0, -1)}` };
  }
  if (url.protocol === 'http:' && !policy.allowPrivate) return { problem: 'url must use https' };
  if (url.username || url.password) return { problem: 'url must not carry a user name or password; the signature authenticates Herald' };
  // `https://x/#` has an empty hash but still a fragment.
  if (input.includes('#')) return { problem: 'url must not have a fragment (#…); it is never sent' };
  if (url.href.length > URL_MAX) return { problem: `url must be at most ${URL_MAX} characters` };
  if (!policy.allowPrivate) {
    const problem = hostProblem(url.hostname);
    if (problem) return { problem };
  }
  return { url: url.href };
}

function hostProblem(hostname: string): string | null {
  // The URL parser has already turned decimal, octal and hex IPv4 forms into dotted quads.
  const literal = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const range = addressRange(literal);
  if (range !== null) {
    return range === 'unicast'
      ? null
      : `url must not point at a ${describe(range)} address (${literal}): Herald only posts to public addresses`;
  }
  const name = hostname.replace(/\.$/, '');
  if (name === 'localhost' || LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
    return `url must not point at a local name (${name}): Herald only posts to public addresses`;
  }
  return null;
}

const RANGE_NAMES: Record<string, string> = {
  private: 'private',
  loopback: 'loopback',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
};

function describe(range: string): string {
  return RANGE_NAMES[range] ?? `special-purpose (${range})`;
}
