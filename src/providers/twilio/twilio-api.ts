// Twilio SDK clients: one per account, token and endpoint, reused across sends so
// connections are kept alive. TWILIO_API_BASE_URL moves the scheme/host/port only; the
// SDK's documented paths (/2010-04-01/Accounts/{sid}/Messages.json) stay.
import twilio from 'twilio';
import type SdkRequestClient from 'twilio/lib/base/RequestClient.js';
import { LRUCache } from 'lru-cache';

const { RequestClient, RestException } = twilio;

export interface TwilioApiOptions {
  accountSid: string;
  authToken: string;
  /** e.g. http://127.0.0.1:4010; unset: Twilio's public endpoints. */
  baseUrl?: string;
  timeoutMs: number;
}

/**
 * The SDK's client with two changes: requests go to `baseUrl` when set, and an error
 * response is thrown with its headers attached (the SDK's own RestException drops them,
 * and the dispatcher needs Retry-After).
 */
const MAX_SOCKETS = 1024;

export class HeraldRequestClient extends RequestClient {
  private readonly origin?: string;

  constructor(options: { baseUrl?: string; timeoutMs: number }) {
    // autoRetry off: a job is one attempt; retries are Herald's (dispatch/retry-policy.ts).
    // The SDK's agent opens at most 20 sockets to a host: with a provider answering in
    // 200 ms that caps a gateway at 100 sends/s whatever the worker's concurrency. The
    // worker's own concurrency is the bound instead (config.ts caps it).
    super({ timeout: options.timeoutMs, autoRetry: false, maxSockets: MAX_SOCKETS, maxTotalSockets: MAX_SOCKETS });
    this.origin = options.baseUrl ? new URL(options.baseUrl).origin : undefined;
  }

  override async request<TData>(opts: SdkRequestClient.RequestOptions<TData>) {
    const uri = this.origin ? rewrite(opts.uri, this.origin) : opts.uri;
    const response = await super.request<TData>({ ...opts, uri });
    if (response.statusCode >= 400 && !isProblemDetails(response.body)) {
      // The same exception the SDK would throw a moment later, plus the headers. (RFC 9457
      // bodies are left to the SDK, which throws its TwilioServiceException for them.)
      const error = new RestException(response) as InstanceType<typeof RestException> & { headers?: unknown };
      error.headers = response.headers;
      throw error;
    }
    return response;
  }
}

function rewrite(uri: string, origin: string): string {
  const url = new URL(uri);
  return `${origin}${url.pathname}${url.search}`;
}

function isProblemDetails(body: unknown): boolean {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return false;
    }
  }
  const b = parsed as Record<string, unknown> | null;
  return typeof b === 'object' && b !== null && typeof b.type === 'string' && typeof b.title === 'string' && typeof b.status === 'number';
}

// Bounded so the clients of rotated tokens and deleted gateways do not pile up.
const clients = new LRUCache<string, twilio.Twilio, TwilioApiOptions>({
  max: 500,
  memoMethod: (_key, _stale, { context: o }) =>
    twilio(o.accountSid, o.authToken, {
      httpClient: new HeraldRequestClient({ baseUrl: o.baseUrl, timeoutMs: o.timeoutMs }),
      autoRetry: false,
    }),
});

/** The cached SDK client for this account, token, endpoint and timeout. Throws if the SDK refuses the credentials. */
export function twilioClient(options: TwilioApiOptions): twilio.Twilio {
  const key = JSON.stringify([options.accountSid, options.authToken, options.baseUrl, options.timeoutMs]);
  return clients.memo(key, { context: options });
}
