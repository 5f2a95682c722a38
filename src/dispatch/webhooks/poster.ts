// One HTTP POST of an event to an endpoint, made so that an endpoint cannot turn Herald
// against the network it runs in (SSRF) nor hold a worker: every address the host resolves
// to is checked when a connection is opened, and the connection goes to the address that
// was checked (no second lookup a rebinding DNS could answer differently); an IP literal
// is checked as written. Bounded in time (connect and total) and in what is read back;
// redirects are answers like any other, never followed.
//
// Node's own http/https: its `lookup` hook is where the check belongs, and a library
// (request-filtering-agent and the like) would re-implement the same hook around
// ipaddr.js with its own idea of which ranges are private, where Herald already has
// `isPublicAddress` for endpoint URLs.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isPublicAddress } from '../../modules/webhooks/url-policy.js';

/** The most of an answer's body kept (and read). */
export const RESPONSE_EXCERPT_BYTES = 1_024;

export interface PostOptions {
  /** Whole attempt, connection included. */
  timeoutMs: number;
  /** Opening the connection (TCP and TLS). */
  connectTimeoutMs: number;
  /** HERALD_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
}

export type PostResult =
  { answered: true; statusCode: number; excerpt: string; durationMs: number } | { answered: false; error: string; durationMs: number };

/** Refused before a connection is made; the error's message says why. */
class AddressNotAllowed extends Error {}

export class WebhookPoster {
  // Connections are kept open between deliveries to the same endpoint; each was checked
  // when it was opened, and goes on reaching the address that was checked.
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
  };

  constructor(private readonly options: PostOptions) {}

  close(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }

  post(url: string, headers: Record<string, string>, body: string): Promise<PostResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const refused = (error: string) => Promise.resolve<PostResult>({ answered: false, error, durationMs: elapsed() });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return refused('the endpoint URL does not parse');
    }
    const agent = this.agents[target.protocol as 'http:' | 'https:'];
    if (!agent) return refused(`${target.protocol} is not http or https`);
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal) && !this.options.allowPrivate && !isPublicAddress(literal)) return refused(notAllowed(literal));

    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connecting);
        resolve(result);
      };
      const fail = (error: string) => finish({ answered: false, error, durationMs: elapsed() });

      const request = (target.protocol === 'https:' ? https : http).request(target, {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: this.options.allowPrivate ? undefined : checkedLookup,
      });
      const total = setTimeout(() => {
        request.destroy();
        fail(`no answer within ${this.options.timeoutMs} ms`);
      }, this.options.timeoutMs);
      const connecting = setTimeout(() => {
        request.destroy();
        fail(`could not connect within ${this.options.connectTimeoutMs} ms`);
      }, this.options.connectTimeoutMs);
      request.on('socket', (socket) => {
        // A kept-alive connection is open already.
        const ready = target.protocol === 'https:' ? 'secureConnect' : 'connect';
        if (!socket.connecting && !(socket as { pending?: boolean }).pending) clearTimeout(connecting);
        else socket.once(ready, () => clearTimeout(connecting));
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        fail(err instanceof AddressNotAllowed ? err.message : describe(err));
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const done = () =>
          finish({
            answered: true,
            statusCode: response.statusCode ?? 0,
            excerpt: Buffer.concat(chunks).toString('utf8'),
            durationMs: elapsed(),
          });
        response.on('data', (chunk: Buffer) => {
          const room = RESPONSE_EXCERPT_BYTES - kept;
          if (room > 0) {
            chunks.push(chunk.subarray(0, room));
            kept += Math.min(room, chunk.length);
          }
          // Enough read: the rest is not waited for (the connection is dropped, not reused).
          if (kept >= RESPONSE_EXCERPT_BYTES) {
            done();
            response.destroy();
          }
        });
        response.on('end', done);
        response.on('error', done);
      });
      request.end(body);
    });
  }
}

function notAllowed(address: string): string {
  return `address not allowed: ${address} is not a public address (HERALD_WEBHOOK_ALLOW_PRIVATE is off)`;
}

/** dns.lookup, refusing the whole host if any address it has is not public. */
function checkedLookup(
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { all: true, family: options.family === undefined ? 0 : Number(options.family) }, (err, addresses) => {
    if (err) {
      callback(err, []);
      return;
    }
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      callback(new AddressNotAllowed(notAllowed(`${hostname} (${refused.address})`)), []);
      return;
    }
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  });
}

function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'DNS lookup failed for now';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
